// platform-health (environments/image/bin) against canned answers: fake `psql` and `curl` first on
// PATH print what a platform in a given state would, so each verdict and exit status is checked
// without a cluster. The Patroni signal needs jq on the host (in the image; .ci/run installs it).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { environmentsDir } from '../../harness/paths.ts';

const script = path.join(environmentsDir, 'image', 'bin', 'platform-health');
const hasJq = spawnSync('jq', ['--version']).status === 0;
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface Platform {
  // `pg_is_in_recovery()|version|address` of the primary endpoint, or an error (exit 2).
  primary?: string | { error: string };
  // The tagged rows of the one SQL session of the other signals.
  batch?: string;
  pools?: string;
  haproxy?: string;
  cluster?: unknown;
}

const healthyPools = 'database,user,cl_active,cl_waiting,sv_active,sv_idle,sv_used,maxwait,maxwait_us,pool_mode\npgbouncer,pgbouncer,1,0,0,0,0,0,0,statement\npostgres,postgres,2,0,1,3,0,0,0,transaction\n';
const healthyHaproxy = [
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight',
  'primary,FRONTEND,,,,,,,,,,,,,,,,OPEN,',
  'primary,pg1,,,,,,,,,,,,,,,,UP,1', 'primary,pg2,,,,,,,,,,,,,,,,DOWN,1', 'primary,pg3,,,,,,,,,,,,,,,,DOWN,1',
  'replicas,pg1,,,,,,,,,,,,,,,,DOWN,1', 'replicas,pg2,,,,,,,,,,,,,,,,UP,1', 'replicas,pg3,,,,,,,,,,,,,,,,UP,1',
  'replicas,BACKEND,,,,,,,,,,,,,,,,UP,2',
].join('\n');
const healthyBatch = [
  'connections|5|1|4|0|100',
  'long-transactions|||||0',
  'xmin-horizon|replication slot|pg2|3',
  'replication|2', 'replica|pg2|streaming|0|0.0', 'replica|pg3|streaming|120|0.1',
  'autovacuum|0|3|50|200000000|on|',
  'statements-top|60|500|1.5|UPDATE pgbench_branches', 'statements-slow|500|1.5|UPDATE pgbench_branches', 'statements|read',
  'checkpoints|5|1|120|1048576|1073741824|300',
].join('\n');

// Runs platform-health with fakes answering as `platform` says; returns its exit status and lines.
function run(platform: Platform, args: string[] = [], env: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'platform-health-'));
  dirs.push(dir);
  const primary = platform.primary ?? 'f|18.6|10.0.0.1';
  writeFileSync(path.join(dir, 'primary'), typeof primary === 'string' ? `${primary}\n` : '');
  writeFileSync(path.join(dir, 'primary.err'), typeof primary === 'string' ? '' : `psql: error: ${primary.error}\n`);
  writeFileSync(path.join(dir, 'batch'), `${platform.batch ?? healthyBatch}\n`);
  writeFileSync(path.join(dir, 'pools'), platform.pools ?? healthyPools);
  writeFileSync(path.join(dir, 'haproxy'), platform.haproxy ?? healthyHaproxy);
  if (platform.cluster) writeFileSync(path.join(dir, 'cluster'), JSON.stringify(platform.cluster));
  // psql: the admin console (-d pgbouncer), the batch (SQL on stdin), or the primary check (-c).
  writeFileSync(path.join(dir, 'psql'), `#!/usr/bin/env bash
d=${JSON.stringify(dir)}
case " $* " in
  *" -d pgbouncer "*) cat "$d/pools" ;;
  *" -c "*) if [[ -s $d/primary.err ]]; then cat "$d/primary.err" >&2; exit 2; fi; cat "$d/primary" ;;
  *) cat >/dev/null; if [[ -s $d/primary.err ]]; then cat "$d/primary.err" >&2; exit 2; fi; cat "$d/batch" ;;
esac
`);
  writeFileSync(path.join(dir, 'curl'), `#!/usr/bin/env bash
d=${JSON.stringify(dir)}
url=\${@: -1}
case $url in
  *';csv') cat "$d/haproxy" ;;
  */cluster) [[ -e $d/cluster ]] || { echo "curl: (7) Failed to connect" >&2; exit 7; }; cat "$d/cluster" ;;
  *) echo '{"xlog":{"paused":false}}' ;;
esac
`);
  chmodSync(path.join(dir, 'psql'), 0o755);
  chmodSync(path.join(dir, 'curl'), 0o755);
  const result = spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: { PATH: `${dir}:${process.env.PATH}`, WORKSHOP_CHECKPOINT_COUNTERS: 'pg_stat_checkpointer', PGHOST: 'haproxy', PGPORT: '5000', PATRONI_APIS: 'http://pg1:8008', PATRONI_EXPECTED_MEMBERS: '3', ...env },
  });
  const lines = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const m = /^(OK|WARN|CRIT) +(\S+) +(.*)$/.exec(line);
    if (m) lines.set(m[2]!, `${m[1]} ${m[3]}`);
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, lines };
}

const sqlSignals = ['primary', 'haproxy', 'pgbouncer', 'connections', 'long-transactions', 'xmin-horizon', 'replication', 'checkpoints', 'autovacuum', 'statements'];
const only = ['--only', sqlSignals.join(',')];

describe('platform-health verdicts', () => {
  test('a healthy platform: every line OK, exit status 0, a summary line', () => {
    const { status, lines, stdout } = run({}, only);
    expect([...lines.values()].filter((l) => !l.startsWith('OK'))).toEqual([]);
    expect(lines.size).toBe(sqlSignals.length);
    expect(stdout).toMatch(/^platform-health: OK \(10 OK, 0 WARN, 0 CRIT\)$/m);
    expect(status).toBe(0);
  });

  test('replication lag past 1 MiB is WARN, past 16 MiB CRIT, and thresholds come from options or PLATFORM_HEALTH_*', () => {
    const lagging = (bytes: number) => healthyBatch.replace('replica|pg3|streaming|120|0.1', `replica|pg3|streaming|${bytes}|0.0`);
    expect(run({ batch: lagging(2 * 1024 ** 2) }, ['--only', 'primary,replication']).lines.get('replication')).toMatch(/^WARN .*pg3 2\.0 MB 0\.0 s \(streaming\)/);
    const crit = run({ batch: lagging(20 * 1024 ** 2) }, ['--only', 'primary,replication']);
    expect(crit.lines.get('replication')).toMatch(/^CRIT /);
    expect(crit.status).toBe(2);
    expect(run({ batch: lagging(2 * 1024 ** 2) }, ['--only', 'primary,replication', '--lag-bytes-warn', '4194304']).lines.get('replication')).toMatch(/^OK /);
    expect(run({ batch: lagging(2 * 1024 ** 2) }, ['--only', 'primary,replication'], { PLATFORM_HEALTH_LAG_BYTES_WARN: '4194304' }).lines.get('replication')).toMatch(/^OK /);
  });

  test('a missing replica is WARN, none is CRIT', () => {
    const one = healthyBatch.replace('replication|2', 'replication|1').replace('replica|pg3|streaming|120|0.1\n', '');
    expect(run({ batch: one }, ['--only', 'primary,replication']).lines.get('replication')).toMatch(/^WARN 1 of 2 replicas/);
    const none = healthyBatch.replace('replication|2', 'replication|0').replace(/replica\|.*\n/g, '');
    expect(run({ batch: none }, ['--only', 'primary,replication']).lines.get('replication')).toMatch(/^CRIT 0 of 2 replicas: no replica connected/);
  });

  test('an idle-in-transaction session past the threshold is WARN and named', () => {
    const batch = healthyBatch.replace('long-transactions|||||0', 'long-transactions|4242|idle in transaction|forgotten|75|1');
    const { lines, status } = run({ batch }, ['--only', 'primary,long-transactions']);
    expect(lines.get('long-transactions')).toBe('WARN oldest open for 75 s: pid 4242 (idle in transaction, application forgotten); 1 idle in transaction');
    expect(status).toBe(1);
    expect(run({ batch }, ['--only', 'primary,long-transactions', '--xact-seconds-warn', '100']).lines.get('long-transactions')).toMatch(/^OK /);
  });

  test('HAProxy: no server up behind primary is CRIT, a replica down is WARN and named', () => {
    const noPrimary = healthyHaproxy.replace('primary,pg1,,,,,,,,,,,,,,,,UP', 'primary,pg1,,,,,,,,,,,,,,,,DOWN');
    expect(run({ haproxy: noPrimary }, ['--only', 'haproxy']).lines.get('haproxy')).toMatch(/^CRIT primary: 0 up \(none\)/);
    const replicaDown = healthyHaproxy.replace('replicas,pg3,,,,,,,,,,,,,,,,UP', 'replicas,pg3,,,,,,,,,,,,,,,,DOWN');
    expect(run({ haproxy: replicaDown }, ['--only', 'haproxy']).lines.get('haproxy')).toBe('WARN primary: 1 up (pg1); replicas: 1 up (pg2); not routed as replicas: pg3(DOWN)');
  });

  test('PgBouncer clients waiting past the threshold: WARN, then CRIT', () => {
    const waiting = (s: number) => healthyPools.replace('postgres,postgres,2,0,1,3,0,0,0', `postgres,postgres,2,7,20,0,0,${s},0`);
    expect(run({ pools: waiting(2) }, ['--only', 'pgbouncer']).lines.get('pgbouncer')).toMatch(/^WARN 1 pools: 2 clients active, 7 waiting \(longest 2\.0 s\)/);
    expect(run({ pools: waiting(9) }, ['--only', 'pgbouncer']).lines.get('pgbouncer')).toMatch(/^CRIT /);
  });

  test('checkpoints: WAL since the last one that would fill max_wal_size before checkpoint_timeout is WARN', () => {
    // 600 MB in 120 s = 5 MB/s; 300 s at that rate is 1.5 GB > max_wal_size 1 GB.
    const batch = healthyBatch.replace('checkpoints|5|1|120|1048576|1073741824|300', `checkpoints|5|1|120|${600 * 1024 ** 2}|1073741824|300`);
    expect(run({ batch }, ['--only', 'primary,checkpoints']).lines.get('checkpoints')).toMatch(/^WARN .*fills in 204 s, before checkpoint_timeout 300 s/);
    const requested = healthyBatch.replace('checkpoints|5|1|', 'checkpoints|3|12|');
    expect(run({ batch: requested }, ['--only', 'primary,checkpoints']).lines.get('checkpoints')).toMatch(/most checkpoints are requested/);
  });

  test('a signal it cannot read says what and why, counts as WARN, or CRIT with --unreadable CRIT', () => {
    const batch = healthyBatch.replace('statements-top|60|500|1.5|UPDATE pgbench_branches\nstatements-slow|500|1.5|UPDATE pgbench_branches\nstatements|read', 'statements|missing');
    const missing = run({ batch }, ['--only', 'primary,statements']);
    expect(missing.lines.get('statements')).toBe('WARN cannot read pg_stat_statements: the extension is not created in database postgres (create extension pg_stat_statements)');
    expect(missing.status).toBe(1);
    expect(run({ batch }, ['--only', 'primary,statements', '--unreadable', 'CRIT']).status).toBe(2);
  });

  test('no primary: CRIT with the connection error, and the SQL signals say they could not be read', () => {
    const { lines, status } = run({ primary: { error: 'connection to server at "haproxy" (10.0.0.2), port 5000 failed: Connection refused' } }, ['--only', 'primary,connections']);
    expect(lines.get('primary')).toBe('CRIT no connection to haproxy:5000: connection to server at "haproxy" (10.0.0.2), port 5000 failed: Connection refused');
    expect(lines.get('connections')).toBe('WARN cannot read (no writable primary at haproxy:5000: see the primary line)');
    expect(status).toBe(2);
  });

  test('a primary endpoint that reaches a replica is CRIT', () => {
    expect(run({ primary: 't|18.6|10.0.0.3' }, ['--only', 'primary']).lines.get('primary')).toMatch(/^CRIT haproxy:5000 reaches 10\.0\.0\.3, a replica \(read-only\)/);
  });

  test('Patroni: no leader is CRIT, a member missing or paused is WARN (needs jq)', () => {
    // Fails rather than skips: a skipped check would read as passed. .ci/run installs jq.
    expect(hasJq, 'jq is not on PATH: install it (apt-get install jq) to test the Patroni signal').toBe(true);
    const member = (name: string, role: string, state: string) => ({ name, role, state, timeline: 1, api_url: `http://${name}:8008/patroni` });
    const healthy = { members: [member('pg1', 'leader', 'running'), member('pg2', 'replica', 'streaming'), member('pg3', 'replica', 'running')] };
    expect(run({ cluster: healthy }, ['--only', 'patroni']).lines.get('patroni')).toBe('OK leader pg1 (running), timeline 1, 2 of 2 replicas streaming, 3 of 3 members');
    expect(run({ cluster: { members: healthy.members.slice(1) } }, ['--only', 'patroni']).lines.get('patroni')).toMatch(/^CRIT no leader/);
    expect(run({ cluster: { members: healthy.members.slice(0, 2) } }, ['--only', 'patroni']).lines.get('patroni')).toMatch(/^WARN .*2 of 3 members/);
    expect(run({ cluster: { ...healthy, pause: true } }, ['--only', 'patroni']).lines.get('patroni')).toMatch(/^WARN .*maintenance mode \(paused\)/);
  });

  test('usage errors exit 3 and say how to fix them', () => {
    const unknown = run({}, ['--lag-byte-warn', '1']);
    expect(unknown.status).toBe(3);
    expect(unknown.stderr).toMatch(/unknown option --lag-byte-warn; thresholds: .*--lag-bytes-warn/);
    const bad = run({}, ['--only', 'replication'], { PLATFORM_HEALTH_LAG_BYTES_WARN: 'lots' });
    expect(bad.status).toBe(3);
    expect(bad.stderr).toContain("threshold lag-bytes-warn must be a non-negative number (option --lag-bytes-warn or PLATFORM_HEALTH_LAG_BYTES_WARN), got 'lots'");
    expect(run({}, ['--only', 'replicaton']).stderr).toMatch(/unknown signal 'replicaton' in --only; signals: primary patroni/);
    expect(execFileSync('bash', [script, '--help'], { encoding: 'utf8' })).toMatch(/^platform-health: one line per signal/);
  });
});
