// The `writer` ledger (environments/image/bin) against a real PostgreSQL: one container of the
// workshop image, with the worktree's scripts mounted over the image's. Docker needed; run with
//   flock /tmp/workshop-docker.lock npx vitest run --project components
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { imageTag } from '../../harness/image/images.ts';
import { matrix } from '../../harness/lab/majors.ts';
import { environmentsDir } from '../../harness/paths.ts';
import { pollUntil } from '../../harness/spec/wait.ts';

const major = Number(process.env.WORKSHOP_PG ?? matrix().defaultMajor);
const container = `ws-component-writer-${randomBytes(4).toString('hex')}`;
const bin = path.join(environmentsDir, 'image', 'bin');
const local = 'host=/var/run/postgresql dbname=postgres';

async function exec(args: string[]) {
  const result = await execa('docker', ['exec', container, ...args], { reject: false, all: true });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

const psql = async (sql: string) => (await exec(['psql', '-XAtc', sql])).stdout;

beforeAll(async () => {
  await execa('docker', [
    'run', '--detach', '--name', container, '--label', 'workshop.harness=true',
    '-e', `POSTGRES_PASSWORD=${randomBytes(9).toString('base64url')}`, '-e', `REPLICATION_PASSWORD=${randomBytes(9).toString('base64url')}`,
    '-v', `${path.join(environmentsDir, 'config')}:/etc/workshop:ro`,
    '-v', `${path.join(bin, 'writer')}:/usr/local/bin/writer:ro`,
    imageTag(major), 'pg-node', 'primary',
  ]);
  await pollUntil('postgres in the container to accept connections', () => exec(['pg_isready', '-h', '/var/run/postgresql']), (r) => r.exitCode === 0, { timeoutMs: 60_000 });
}, 90_000);

afterAll(async () => {
  await execa('docker', ['rm', '--force', '--volumes', container], { reject: false });
});

describe(`writer on PostgreSQL ${major}`, () => {
  test('without a ledger, status and check say how to start one', async () => {
    const result = await exec(['writer', 'status']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('writer: no ledger in /tmp/writer: start one with `writer start`');
  });

  test('a writer that cannot reach a server fails to start and says why', async () => {
    const result = await exec(['writer', 'start', 'host=127.0.0.1 port=1 dbname=postgres', '--connect-timeout', '1']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^writer: cannot create table writer_ledger through "host=127.0.0.1 port=1 dbname=postgres": .*(refused|failed)/);
  });

  test('counts acknowledged writes, settles the in-doubt ones and names the lost ones', async () => {
    const started = await exec(['writer', 'start', local]);
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/^writer started: run \S+, pid \d+, ledger \/tmp\/writer\/ledger$/);
    expect(await exec(['writer', 'start', local])).toMatchObject({ exitCode: 2, stderr: expect.stringMatching(/already running/) });

    // Connections ended under the writer: the INSERT it sends next has an unknown outcome.
    for (let i = 0; i < 2; i++) {
      const before = Number((/acknowledged: (\d+)/.exec((await exec(['writer', 'status'])).stdout))![1]);
      await psql(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'writer'`);
      await pollUntil('the writer to write again after its connection ended', async () => Number((/acknowledged: (\d+)/.exec((await exec(['writer', 'status'])).stdout))![1]), (n) => n > before + 5, { timeoutMs: 20_000 });
    }
    const status = await exec(['writer', 'status']);
    expect(status.stdout).toMatch(/^running: yes\nrun: \S+\nacknowledged: \d+\nlast acknowledged: \d+\.\d s ago\nin doubt: 2\nerrors: 2\nlast error: insert \d+: .+$/);

    // Acknowledged writes that the server no longer holds are what a failover without them loses.
    const run = (/run: (\S+)/.exec(status.stdout))![1]!;
    expect(await psql(`with gone as (delete from writer_ledger where run = '${run}' and id in (3, 4, 5, 9) returning 1) select count(*) from gone`)).toBe('4');

    const stopped = await exec(['writer', 'stop']);
    expect(stopped.stdout).toMatch(/^writer stopped: \d+ acknowledged$/);
    expect((await exec(['writer', 'status'])).stdout).toMatch(/^running: no\n/);
    const acknowledged = Number((/(\d+)/.exec(stopped.stdout))![1]);
    const inTable = Number(await psql(`select count(*) from writer_ledger where run = '${run}'`));

    const check = await exec(['writer', 'check']);
    expect(check.exitCode, check.stderr).toBe(0);
    const lines = check.stdout.split('\n');
    expect(lines[0]).toBe(`acknowledged: ${acknowledged}`);
    expect(lines[1]).toBe('lost: 4');
    expect(lines[2]).toBe('lost ids: 3-5 9');
    // Both in-doubt INSERTs met a closed connection before reaching the server: not committed.
    expect(lines[3]).toBe('in doubt: 2 (committed: 0, not committed: 2)');
    expect(lines[4]).toMatch(/^largest gap: \d+\.\d s \(after id \d+\)$/);
    expect(lines[5]).toBe('timelines: 1');
    expect(lines).toHaveLength(6);
    expect(inTable).toBe(acknowledged - 4);
    expect(await exec(['writer', 'stop'])).toMatchObject({ exitCode: 0, stdout: 'writer: not running' });
  }, 60_000);

  test('a new start begins a new ledger: nothing of the earlier run counts', async () => {
    expect((await exec(['writer', 'start', local])).exitCode).toBe(0);
    await exec(['writer', 'stop']);
    const check = await exec(['writer', 'check']);
    expect(check.stdout).toMatch(/^acknowledged: \d+\nlost: 0\nin doubt: 0 \(committed: 0, not committed: 0\)\nlargest gap: \d+\.\d s \(after id \d+\)\ntimelines: 1$/);
  }, 30_000);
});
