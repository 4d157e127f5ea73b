// platform-health (environments/image/bin): its HTTP signals against canned answers, and its
// usage errors. A fake `curl` first on PATH prints what Patroni's REST API and HAProxy's stats page
// would in a given state. Every PostgreSQL signal is read from a real server instead, in
// test/components/platform-health.test.ts. The Patroni signal needs jq on the host (in the image;
// .ci/run installs it).
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
  haproxy?: string;
  cluster?: unknown;
}

const healthyHaproxy = [
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight',
  'primary,FRONTEND,,,,,,,,,,,,,,,,OPEN,',
  'primary,pg1,,,,,,,,,,,,,,,,UP,1', 'primary,pg2,,,,,,,,,,,,,,,,DOWN,1', 'primary,pg3,,,,,,,,,,,,,,,,DOWN,1',
  'replicas,pg1,,,,,,,,,,,,,,,,DOWN,1', 'replicas,pg2,,,,,,,,,,,,,,,,UP,1', 'replicas,pg3,,,,,,,,,,,,,,,,UP,1',
  'replicas,BACKEND,,,,,,,,,,,,,,,,UP,2',
].join('\n');

// Runs platform-health with a fake curl answering as `platform` says; returns its exit status and lines.
// PGHOST names no server (.invalid never resolves): no signal here reads PostgreSQL.
function run(platform: Platform, args: string[] = [], env: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'platform-health-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'haproxy'), platform.haproxy ?? healthyHaproxy);
  if (platform.cluster) writeFileSync(path.join(dir, 'cluster'), JSON.stringify(platform.cluster));
  writeFileSync(path.join(dir, 'curl'), `#!/usr/bin/env bash
d=${JSON.stringify(dir)}
url=\${@: -1}
case $url in
  *';csv') cat "$d/haproxy" ;;
  */cluster) [[ -e $d/cluster ]] || { echo "curl: (7) Failed to connect" >&2; exit 7; }; cat "$d/cluster" ;;
  *) echo '{"xlog":{"paused":false}}' ;;
esac
`);
  chmodSync(path.join(dir, 'curl'), 0o755);
  const result = spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: { PATH: `${dir}:${process.env.PATH}`, WORKSHOP_CHECKPOINT_COUNTERS: 'pg_stat_checkpointer', PGHOST: 'no-server.invalid', PGPORT: '5000', PGCONNECT_TIMEOUT: '1', PATRONI_APIS: 'http://pg1:8008', PATRONI_EXPECTED_MEMBERS: '3', ...env },
  });
  const lines = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const m = /^(OK|WARN|CRIT) +(\S+) +(.*)$/.exec(line);
    if (m) lines.set(m[2]!, `${m[1]} ${m[3]}`);
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, lines };
}

describe('platform-health: HTTP signals and usage', () => {
  test('HAProxy: one primary up and the replicas up is OK', () => {
    const { lines, status } = run({}, ['--only', 'haproxy']);
    expect(lines.get('haproxy')).toBe('OK primary: 1 up (pg1); replicas: 2 up (pg2 pg3)');
    expect(status).toBe(0);
  });

  test('HAProxy: no server up behind primary is CRIT, a replica down is WARN and named', () => {
    const noPrimary = healthyHaproxy.replace('primary,pg1,,,,,,,,,,,,,,,,UP', 'primary,pg1,,,,,,,,,,,,,,,,DOWN');
    expect(run({ haproxy: noPrimary }, ['--only', 'haproxy']).lines.get('haproxy')).toMatch(/^CRIT primary: 0 up \(none\)/);
    const replicaDown = healthyHaproxy.replace('replicas,pg3,,,,,,,,,,,,,,,,UP', 'replicas,pg3,,,,,,,,,,,,,,,,DOWN');
    expect(run({ haproxy: replicaDown }, ['--only', 'haproxy']).lines.get('haproxy')).toBe('WARN primary: 1 up (pg1); replicas: 1 up (pg2); not routed as replicas: pg3(DOWN)');
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
