// A fenced block's meta (`step=up timeout=60 pg=">=17"`) as options, read by the harness's own parser
// (harness/lab/info-string.ts), so the site shows exactly the blocks the runner runs; a meta it cannot
// read yields undefined (the linter reports it).
import { parseInfoOptions as parseOptions } from '../../../harness/lab/info-string.ts';

export type InfoOptions = Map<string, string | true>;

export function parseInfoOptions(meta: string | null | undefined): InfoOptions | undefined {
  const parsed = parseOptions(meta ?? '');
  if (!Array.isArray(parsed)) return undefined;
  return new Map(parsed.map((option) => [option.key, option.value ?? true]));
}
