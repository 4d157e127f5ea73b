import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { NoPrimaryError, PrimaryConnector } from '../../harness/patroni/primary.ts';

// Stand-in nodes: each is up or down and in recovery or not; a connection to a node that goes down
// fails its next query, as a killed container's connections do.
function fakeCluster(roles: Record<string, 'primary' | 'replica' | 'down'>) {
  const opened: string[] = [];
  const resolved: string[] = [];
  let port = 1000;
  const ports = new Map<string, number>();
  const nodeOf = (p: number) => [...ports.entries()].find(([, v]) => v === p)![0];
  const resolve = async (node: string) => {
    resolved.push(node);
    if (roles[node] === 'down') throw new Error(`no published port for ${node}`);
    if (!ports.has(node)) ports.set(node, port++);
    return { host: '127.0.0.1', port: ports.get(node)! };
  };
  const open = async (address: { port: number }) => {
    const node = nodeOf(address.port);
    if (roles[node] === 'down') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    opened.push(node);
    let ended = false;
    return {
      node,
      end: async () => { ended = true; },
      query: async () => {
        if (ended || roles[node] === 'down') throw new Error('Connection terminated unexpectedly');
        return { rows: [{ r: roles[node] !== 'primary' }] };
      },
    } as unknown as pg.Client;
  };
  return { roles, opened, resolved, resolve, open, ports };
}

describe('the primary connector', () => {
  test('connects to the node that is not in recovery', async () => {
    const cluster = fakeCluster({ pg1: 'replica', pg2: 'primary', pg3: 'replica' });
    await using connector = new PrimaryConnector({ nodes: ['pg1', 'pg2', 'pg3'], resolve: cluster.resolve, open: cluster.open });
    const client = await connector.connect();
    expect((client as unknown as { node: string }).node).toBe('pg2');
    expect(connector.primary).toBe('pg2');
  });

  test('says what each node answered when none accepts writes, then finds the promoted replica', async () => {
    const cluster = fakeCluster({ pg1: 'primary', pg2: 'replica', pg3: 'replica' });
    await using connector = new PrimaryConnector({ nodes: ['pg1', 'pg2', 'pg3'], resolve: cluster.resolve, open: cluster.open, reopenAfterMs: 0 });
    await connector.connect();
    cluster.roles.pg1 = 'down';
    const error = await connector.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoPrimaryError);
    expect((error as Error).message).toMatch(/pg1 unreachable \(Connection terminated unexpectedly\), pg2 is in recovery, pg3 is in recovery/);
    cluster.roles.pg3 = 'primary';
    const openedBefore = cluster.opened.length;
    const client = await connector.connect();
    expect((client as unknown as { node: string }).node).toBe('pg3');
    // The promotion was seen on the probe connection kept open: one new connection, the one handed out.
    expect(cluster.opened.length).toBe(openedBefore + 1);
  });

  test('does not hammer a node that is down, and looks up its address again later', async () => {
    const cluster = fakeCluster({ pg1: 'primary', pg2: 'replica' });
    await using connector = new PrimaryConnector({ nodes: ['pg1', 'pg2'], resolve: cluster.resolve, open: cluster.open, reopenAfterMs: 60_000, resolveAfterMs: 0 });
    await connector.connect();
    cluster.roles.pg1 = 'down';
    for (let i = 0; i < 5; i++) await connector.connect().catch(() => undefined);
    // The failed probe query marks pg1 down; no reconnect is tried within reopenAfterMs.
    expect(cluster.resolved.filter((n) => n === 'pg1')).toEqual(['pg1']);
  });

  test('a node that comes back on a new port is found again', async () => {
    const cluster = fakeCluster({ pg1: 'primary', pg2: 'replica' });
    await using connector = new PrimaryConnector({ nodes: ['pg1', 'pg2'], resolve: cluster.resolve, open: cluster.open, reopenAfterMs: 0, resolveAfterMs: 0 });
    await connector.connect();
    cluster.roles.pg1 = 'down';
    await connector.connect().catch(() => undefined);
    cluster.ports.set('pg1', 2000);
    cluster.roles.pg1 = 'primary';
    const client = await connector.connect();
    expect((client as unknown as { node: string }).node).toBe('pg1');
    expect(cluster.resolved.filter((n) => n === 'pg1').length).toBeGreaterThanOrEqual(2);
  });
});
