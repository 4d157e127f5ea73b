// Splits a fenced block's meta (`step=up timeout=60 pg=">=17"`) into options, as the harness's
// harness/lab/info-string.ts does; a meta it cannot read yields undefined (the linter reports it).

export type InfoOptions = Map<string, string | true>;

export function parseInfoOptions(meta: string | null | undefined): InfoOptions | undefined {
  const options: InfoOptions = new Map();
  const token = /\s*([A-Za-z][\w-]*)(?:=(?:"([^"]*)"|'([^']*)'|([^\s"']*)))?/y;
  const text = meta ?? '';
  let index = 0;
  while (index < text.length) {
    if (/^\s*$/.test(text.slice(index))) break;
    token.lastIndex = index;
    const match = token.exec(text);
    if (!match || match[0].trim() === '') return undefined;
    options.set(match[1]!, match[2] ?? match[3] ?? match[4] ?? true);
    index = token.lastIndex;
    if (index < text.length && !/\s/.test(text[index]!)) return undefined;
  }
  return options;
}
