import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test, vi } from 'vitest';

// The published ports come from `docker compose port`; here from a table the test controls.
const ports = new Map<string, number>();
const lookups: string[] = [];
vi.mock('../../harness/postgres/postgres.ts', () => ({
  publishedAddress: async (_project: unknown, service: string) => {
    lookups.push(service);
    const port = ports.get(service);
    if (port === undefined) throw new Error(`service "${service}" is not running`);
    return { host: '127.0.0.1', port };
  },
  connect: async () => { throw new Error('not used'); },
}));

const { PatroniCluster } = await import('../../harness/patroni/patroni.ts');

// A stand-in REST API answering GET /cluster with the given leader.
async function restApi(leader: string): Promise<Server> {
  const server = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ members: [{ name: leader, role: 'leader', state: 'running' }, { name: 'pg2', role: 'replica', state: 'streaming' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  ports.clear();
  lookups.length = 0;
});

describe('the Patroni cluster seen through its REST API', () => {
  test('looks each node\'s published port up once, not on every request', async () => {
    const pg1 = await restApi('pg1');
    servers.push(pg1);
    ports.set('pg1', (pg1.address() as AddressInfo).port);
    const cluster = new PatroniCluster({ name: 'test', major: 18 }, ['pg1', 'pg2']);
    for (let i = 0; i < 5; i++) expect((await cluster.leader())?.name).toBe('pg1');
    expect(lookups).toEqual(['pg1']);
  });

  test('after a node stops answering, finds it again on its new port, without a lookup per request', async () => {
    const first = await restApi('pg1');
    ports.set('pg1', (first.address() as AddressInfo).port);
    const cluster = new PatroniCluster({ name: 'test', major: 18 }, ['pg1']);
    expect((await cluster.leader())?.name).toBe('pg1');
    await new Promise((resolve) => first.close(resolve));
    ports.delete('pg1');
    for (let i = 0; i < 5; i++) await expect(cluster.cluster()).rejects.toThrow();
    // Not one lookup per failed request: at most one per RESOLVE_AGAIN_AFTER_MS (2 s).
    expect(lookups.filter((n) => n === 'pg1').length).toBeLessThanOrEqual(2);
    const second = await restApi('pg3');
    servers.push(second);
    ports.set('pg1', (second.address() as AddressInfo).port);
    const state = await cluster.waitForLeader({ timeoutMs: 5000 });
    expect(state.members[0]!.name).toBe('pg3');
  });
});
