// The core path's static rules (what `workshop lint` refuses) and which labs `workshop test` types
// again on their core path alone.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { pageSections } from '../../harness/agenda/agenda.ts';
import { corePath, corePathNeedsOwnRun } from '../../harness/agenda/core-path.ts';
import { labsNeedingCorePathRun } from '../../harness/cli/verify.ts';
import { allLabs } from '../../harness/lab/catalog.ts';
import { parseLab } from '../../harness/lab/parse.ts';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures');
const problemsOf = (file: string) => pageSections(readFileSync(file, 'utf8'), file).problems.map((p) => `${p.position.line} ${p.message}`);

// A lab page from its sections: `deep` names the deep dives' anchors; each section holds one step.
function page(deep: string[], body: string): { markdown: string; file: string } {
  return { markdown: `---\ntitle: "Lab: t"\nenvironment: none\ndeep_dives: [${deep.join(', ')}]\n---\n\n# Lab: t\n\n${body}`, file: path.join(fixtures, 'core-path', 'inline', 'lab.md') };
}
const needsOwnRun = ({ markdown, file }: { markdown: string; file: string }, major = 18) => corePathNeedsOwnRun(parseLab(markdown, file), pageSections(markdown, file).sections, major);
const step = (id: string, extra = '') => `\`\`\`bash step=${id}${extra}\necho ${id}\n\`\`\`\n\n`;

describe('lint: a core path that can be typed alone', () => {
  test('a deep dive may sit between two core sections', () => {
    expect(problemsOf(path.join(fixtures, 'labs', '07-core-path', 'lab.md'))).toEqual([]);
    expect(problemsOf(path.join(fixtures, 'labs', '08-core-path-needs-deep-dive', 'lab.md'))).toEqual([]);
  });

  test('background steps, programs, checkpoints and expected output may not cross a deep dive’s border; each problem says where, what and how to fix it', () => {
    expect(problemsOf(path.join(fixtures, 'core-path', 'crossing', 'lab.md'))).toEqual([
      '31 Core checkpoint `after-deep` follows step `deep-step` (line 25) of the deep dive `Deep start` (line 15): a checkpoint checks the state the step before it leaves, which an attendee on the core path never makes. Move the checkpoint into the deep dive, or below a step of its own section',
      '39 Core step `stop-deep` has `stops=deep-load`, but background step `deep-load` (line 17) is in the deep dive `Deep start` (line 15): an attendee on the core path skips the deep dive, never starts `deep-load` and has nothing to stop here. Start and end it in the same kind of section: move `deep-load` into a core section, or mark this step\'s section a deep dive too',
      '43 Core step `query` is sql typed into terminal `main`, but the program it types into is started by `open-psql` (line 21) in the deep dive `Deep start` (line 15): on the core path no program runs in that terminal and the shell would get the sql. Start the program (psql) in a core section before it, or mark this step\'s section a deep dive too',
      '53 The expected output of core step `echo-core` (line 47) sits in the deep dive `Deep end` (line 51): an attendee on the core path skips it and never reads what the command should print. Place the `expect=echo-core` block right after its step',
      '57 Step `deep-stop` of the deep dive `Deep end` (line 51) has `stops=core-load`, but background step `core-load` (line 11) is in the core section `Start` (line 9): an attendee on the core path starts `core-load`, skips the deep dive and leaves it running. End it in a core section too (a later core step with `waits=core-load`, which waits for nothing once it has ended), or mark the section that starts it a deep dive too',
      '67 The expected output of step `deep-final` (line 61) of the deep dive `Deep end` (line 51) sits in the core section `Finish` (line 65): an attendee on the core path reads the output of a command they never typed. Place the `expect=deep-final` block right after its step',
    ]);
  });

  test('a background step started and ended inside one deep dive, or waited for across core sections, is fine', () => {
    const { markdown, file } = page(['deep'], `## Core\n\n${step('load', ' background')}## Deep\n\n${step('deep-load', ' background')}${step('deep-end', ' waits=deep-load')}## Later\n\n${step('after', ' waits=load')}`);
    expect(pageSections(markdown, file).problems).toEqual([]);
  });

  test('a rule that holds on one major only is checked on that major', () => {
    // On 15 the psql of the deep dive is the only program in the terminal; on 17 and 18 a core one opens it.
    const { markdown, file } = page(['deep'], `## Deep\n\n\`\`\`bash step=open interactive\npsql\n\`\`\`\n\n## Core\n\n\`\`\`bash step=open2 interactive pg=">=17"\npsql\n\`\`\`\n\n\`\`\`sql step=q\nselect 1;\n\`\`\`\n`);
    expect(pageSections(markdown, file).problems.map((p) => p.message)).toEqual([expect.stringMatching(/^Core step `q` is sql typed into terminal `main`, but the program it types into is started by `open` \(line 11\)/)]);
  });
});

describe('the core path of a lab', () => {
  test('holds the core sections’ steps and checkpoints, and lists the deep dives it skips', () => {
    const [lab] = allLabs(path.join(fixtures, 'labs')).filter((l) => l.id === '07-core-path');
    const file = path.join(fixtures, 'labs', '07-core-path', 'lab.md');
    const core = corePath(lab!.document, pageSections(readFileSync(file, 'utf8'), file).sections, 18);
    expect(core.steps.map((s) => s.id)).toEqual(['first', 'core-load', 'second', 'clean']);
    expect(core.checkpoints.map((c) => c.id)).toEqual(['first-written', 'second-written']);
    expect(core.skipped.map((d) => [d.section.title, d.steps.map((s) => s.id), d.checkpoints.map((c) => c.id)])).toEqual([['A deep dive', ['deep-load', 'deep-write', 'deep-after'], ['deep-written']]]);
  });
});

describe('workshop test: the labs typed again on their core path alone', () => {
  test('those where a deep dive with steps comes before a core step', () => {
    expect(labsNeedingCorePathRun(allLabs(path.join(fixtures, 'labs')), 18).map((l) => l.id)).toEqual(['07-core-path', '08-core-path-needs-deep-dive']);
    // 01-first: its deep dive is followed only by the clean-up (`docker compose down`); 02-second: a core section follows it.
    expect(labsNeedingCorePathRun(allLabs(path.join(fixtures, 'agenda', 'curriculum')), 18).map((l) => l.id)).toEqual(['02-second']);
  });

  test('not those whose core path is the start of the page, which the whole-page run types first', () => {
    expect(needsOwnRun(page(['deep'], `## Core\n\n${step('a')}## Deep\n\n${step('b')}`))).toBe(false);
    // A deep dive of prose alone skips nothing typed.
    expect(needsOwnRun(page(['deep'], `## Core\n\n${step('a')}## Deep\n\nOnly words.\n\n## More\n\n${step('c')}`))).toBe(false);
    expect(needsOwnRun(page([], `## Core\n\n${step('a')}## More\n\n${step('c')}`))).toBe(false);
    expect(needsOwnRun(page(['deep'], `## Core\n\n${step('a')}## Deep\n\n${step('b')}## More\n\n${step('c')}`))).toBe(true);
  });

  test('on the major it runs on: a deep dive whose steps apply to another major skips nothing there', () => {
    const lab = page(['deep'], `## Core\n\n${step('a')}## Deep\n\n${step('b', ' pg=15')}## More\n\n${step('c')}`);
    expect(needsOwnRun(lab, 18)).toBe(false);
    expect(needsOwnRun(lab, 15)).toBe(true);
  });
});
