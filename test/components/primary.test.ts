// Finding the primary across a promotion, two ways: the harness's PrimaryConnector (from the host,
// through the published ports) and libpq's multi-host connection strings (`target_session_attrs`,
// from a client container on the cluster's network), on a primary killed and a replica promoted.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, NoPrimaryError, PrimaryConnector, pollUntil, queryValue } from '../../harness/index.ts';
import { Cluster, type Node } from './support/cluster.ts';

let cluster: Cluster;
let pg1: Node;
let pg2: Node;
let client: Node;
let connector: PrimaryConnector;
let addresses: Record<string, string>;

beforeAll(async () => {
  cluster = await Cluster.create();
  pg1 = await cluster.primary('pg1');
  pg2 = await cluster.replica('pg2', pg1);
  client = await cluster.client('client', 'pg1');
  const nodes: Record<string, Node> = { pg1, pg2 };
  addresses = { pg1: await pg1.networkAddress(), pg2: await pg2.networkAddress() };
  connector = new PrimaryConnector({ nodes: ['pg1', 'pg2'], resolve: (name) => nodes[name]!.address(), open: (address) => connect(address, { password: pg1.password }) });
});

afterAll(async () => {
  await connector?.close();
  await cluster?.stop();
});

// What libpq picks for a multi-host string: `<inet_server_addr> <in recovery>` as psql -At prints
// them (a boolean as t or f), or the error.
async function libpq(attrs: string): Promise<string> {
  const result = await client.container.exec(['psql', `host=pg1,pg2 port=5432 connect_timeout=2 target_session_attrs=${attrs}`, '-XAtc', 'select host(inet_server_addr()), pg_is_in_recovery()'], {});
  return result.exitCode === 0 ? result.stdout.trim().replace('|', ' ') : `exit ${result.exitCode}: ${result.stderr.trim()}`;
}

describe('before the failover', () => {
  test('PrimaryConnector connects to pg1, the node not in recovery', async () => {
    const c = await connector.connect();
    try {
      expect(await queryValue(c, 'select host(inet_server_addr())')).toBe(addresses.pg1);
      expect(await queryValue(c, 'select pg_is_in_recovery()')).toBe('false');
    } finally {
      await c.end();
    }
    expect(connector.primary).toBe('pg1');
  });

  test('libpq: read-write picks pg1, standby picks pg2, any takes the first host', async () => {
    expect(await libpq('read-write')).toBe(`${addresses.pg1} f`);
    expect(await libpq('standby')).toBe(`${addresses.pg2} t`);
    expect(await libpq('any')).toBe(`${addresses.pg1} f`);
  });
});

describe('pg1 killed, pg2 not yet promoted', () => {
  beforeAll(async () => {
    await pg1.kill();
  });

  test('PrimaryConnector throws NoPrimaryError saying what each node answered', async () => {
    // Until its probe of pg1 fails, the connector may not have noticed the kill: the last error is the one.
    const error = await pollUntil('NoPrimaryError from the connector', () => connector.connect().then(async (c) => { await c.end(); return undefined; }, (e: unknown) => e), (e) => e instanceof NoPrimaryError, { timeoutMs: 20_000, intervalMs: 200 });
    expect((error as Error).message).toMatch(/^No node accepts writes: pg1 unreachable \(.+\), pg2 is in recovery$/);
  });

  test('libpq: read-write finds no server and says so; standby still reaches pg2', async () => {
    expect(await libpq('read-write')).toMatch(/^exit 2: psql: error: .*(server is in hot standby mode|session is read-only|could not translate host name "pg1"|Connection refused|timeout expired)/s);
    expect(await libpq('standby')).toBe(`${addresses.pg2} t`);
  });
});

describe('after pg2 is promoted', () => {
  beforeAll(async () => {
    await pg2.exec(['pg-ctl', 'promote']);
  });

  test('PrimaryConnector connects to pg2 on the connection it already holds to it', async () => {
    const c = await pollUntil('the connector to reach a primary', () => connector.connect(), () => true, { timeoutMs: 20_000, intervalMs: 200 });
    try {
      expect(await queryValue(c, 'select host(inet_server_addr())')).toBe(addresses.pg2);
      expect(await queryValue(c, 'select pg_is_in_recovery()')).toBe('false');
    } finally {
      await c.end();
    }
    expect(connector.primary).toBe('pg2');
  });

  test('libpq: read-write now picks pg2; standby finds none', async () => {
    expect(await libpq('read-write')).toBe(`${addresses.pg2} f`);
    expect(await libpq('standby')).toMatch(/^exit 2: psql: error: /);
  });
});
