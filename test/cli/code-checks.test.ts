import { describe, expect, test } from 'vitest';
import { shellScripts } from '../../harness/cli/code-checks.ts';
import { relativeToRepo } from '../../harness/paths.ts';

describe('the code checks', () => {
  test('shellcheck is given every shell script: *.sh and files whose #! names sh or bash', () => {
    const scripts = shellScripts().map(relativeToRepo);
    expect(scripts).toEqual(expect.arrayContaining([
      '.ci/run', 'curriculum/02-connections/backend-memory.sh', 'environments/image/bin/pg-node',
      'environments/image/bin/platform-health', 'environments/image/make-base',
    ]));
    expect(scripts.filter((file) => file.startsWith('node_modules/') || file.endsWith('.ts'))).toEqual([]);
  });
});
