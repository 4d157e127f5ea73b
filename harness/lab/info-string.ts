// Splits a fenced block's info string (`bash step=up timeout=60 pg=">=17"`) into options with columns.

export interface InfoOption {
  key: string;
  // undefined for a bare flag such as `background`.
  value: string | undefined;
  // 0-based offset of the option within the meta string.
  offset: number;
}

// Options after the language: `key`, `key=value`, `key="value with spaces"` or `key='…'`.
export function parseInfoOptions(meta: string): InfoOption[] | { error: string; offset: number } {
  const options: InfoOption[] = [];
  const token = /\s*([A-Za-z][\w-]*)(?:=(?:"([^"]*)"|'([^']*)'|([^\s"']*)))?/y;
  let index = 0;
  while (index < meta.length) {
    if (/^\s*$/.test(meta.slice(index))) break;
    token.lastIndex = index;
    const match = token.exec(meta);
    if (!match || match[0].trim() === '') {
      const offset = index + (meta.slice(index).length - meta.slice(index).trimStart().length);
      return { error: `expected \`key\` or \`key=value\` in the info string, found \`${meta.slice(offset).split(/\s/)[0]}\``, offset };
    }
    const offset = index + match[0].length - match[0].trimStart().length;
    const value = match[2] ?? match[3] ?? match[4];
    options.push({ key: match[1]!, value, offset });
    index = token.lastIndex;
    const next = meta[index];
    if (next !== undefined && !/\s/.test(next)) {
      return { error: `expected a space after option \`${match[1]}\`, found \`${next}\``, offset: index };
    }
  }
  return options;
}
