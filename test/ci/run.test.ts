// CI runs what a person runs from the README: its install command, then its test command.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../harness/paths.ts';

const ciRun = readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8');
const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

// The commands of a bash script, without comments, blank lines, `set`, `cd`, `step` and its definition.
function commands(script: string): string[] {
  return script.split('\n').map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && !/^(set|cd|step)\b/.test(line) && !line.startsWith('step()'));
}

// The shell commands of the README's section `title`, from its bash blocks, without their comments.
function readmeCommands(title: string): string[] {
  const section = readme.split(/^## /m).find((part) => part.startsWith(`${title}\n`));
  expect(section, `README.md has a section "## ${title}"`).toBeDefined();
  return [...section!.matchAll(/```bash\n([\s\S]*?)```/g)].flatMap((block) => block[1]!.split('\n'))
    .map((line) => line.replace(/#.*$/, '').trim()).filter(Boolean);
}

describe('.ci/run', () => {
  test('provides Node, runs the README\'s install command, then the README\'s test command, and nothing else', () => {
    const documented = readmeCommands('The two commands');
    expect(documented).toEqual(['npm run verify', 'npm test', 'sudo bin/install-prerequisites']);
    expect(commands(ciRun)).toEqual([
      'node_bin=$(bash .ci/install-node)',
      'if [ -n "$node_bin" ]; then export PATH="$node_bin:$PATH"; fi',
      'node --version',
      'bin/install-prerequisites',
      'npm test',
    ]);
  });
});
