// `workshop verify` refuses a run that would verify nothing, before it builds or starts anything.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { verify } from '../../harness/cli/verify.ts';

const root = path.join(import.meta.dirname, '..', 'fixtures', 'verify');

describe('workshop verify', () => {
  test('a major to which no lab applies fails with a message instead of passing empty', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'verify-'));
    const run = verify({ labs: [], majors: [15], keep: false, build: false, runsDir: dir, reportsDir: dir, root });
    await expect(run).rejects.toThrow('verify: no lab applies to PostgreSQL 15, so nothing would be verified: 05-narrowed (18: the feature it shows is new in 18)');
    await expect(run).rejects.toHaveProperty('name', 'UsageError');
  });
});
