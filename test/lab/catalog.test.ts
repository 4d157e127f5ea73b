// The catalog: a module holds lab.md and further labs as lab-<name>.md; names select by id or module number.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { allLabs, findLab, findLabs } from '../../harness/lab/catalog.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'catalog-'));
const lab = (title: string) => `---\ntitle: "${title}"\nenvironment: none\nmajors: { range: "18", reason: "fixture" }\n---\n\n# ${title}\n`;
for (const [folder, files] of Object.entries({
  '05-failure': ['lab.md'],
  '06-patroni': ['lab.md', 'lab-guardrails.md'],
  '07-poolers': ['index.md'],
})) {
  mkdirSync(path.join(root, folder));
  for (const file of files) writeFileSync(path.join(root, folder, file), lab(`${folder} ${file}`));
}
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the lab catalog', () => {
  test('finds lab.md and lab-<name>.md, named after the module and the suffix', () => {
    expect(allLabs(root).map((l) => [l.id, path.basename(l.file)])).toEqual([
      ['05-failure', 'lab.md'],
      ['06-patroni', 'lab.md'],
      ['06-patroni-guardrails', 'lab-guardrails.md'],
    ]);
  });

  test('a module number selects every lab of the module, an id exactly one', () => {
    expect(findLabs('06', root).map((l) => l.id)).toEqual(['06-patroni', '06-patroni-guardrails']);
    expect(findLabs('06-patroni', root).map((l) => l.id)).toEqual(['06-patroni']);
    expect(findLab('06-patroni-guardrails', root).document.frontMatter?.kind).toBe('lab');
    expect(findLab('05', root).id).toBe('05-failure');
  });

  test('an ambiguous or unknown name says what it could have been', () => {
    expect(() => findLab('06', root)).toThrow(/ambiguous, it names 06-patroni, 06-patroni-guardrails; give the full id/);
    expect(() => findLabs('08', root)).toThrow(/`08`: no such lab; expected one of 05-failure, 06-patroni, 06-patroni-guardrails/);
  });
});
