// Finding the primary from the host as a client would, without a proxy: ask every node whether it
// is in recovery and connect to the one that is not (libpq's target_session_attrs=read-write, done
// by hand because node-postgres has no multi-host connection strings).
import type pg from 'pg';
import type { NodeAddress } from '../postgres/postgres.ts';
import { withTimeout } from '../spec/wait.ts';

export interface PrimaryConnectorOptions {
  nodes: string[];
  // Where a node's PostgreSQL is reachable from the host (its published port).
  resolve: (node: string) => Promise<NodeAddress>;
  // Opens a connection to an address (authenticated, error handler attached).
  open: (address: NodeAddress) => Promise<pg.Client>;
  // A node whose probe connection failed is tried again after this long (a killed node refuses at
  // once; a spin of reconnects to it would only load the machine during the failover measured).
  reopenAfterMs?: number;
  // Its address is looked up again after this long (a restarted container gets a new host port).
  resolveAfterMs?: number;
  // One probe query may take this long before its node counts as unreachable.
  probeTimeoutMs?: number;
}

interface NodeProbe {
  address?: NodeAddress;
  resolvedAt: number;
  client?: pg.Client;
  failedAt: number;
  lastError?: string;
}

export class NoPrimaryError extends Error {
  override name = 'NoPrimaryError';
}

// Hands out fresh connections to whichever node currently accepts writes. It keeps one small probe
// connection per node: `select pg_is_in_recovery()` on an open connection costs far less than a new
// connection (fork, SCRAM) on every attempt, and a promoted replica answers `false` on the same
// connection, so the new primary is seen as soon as it is promoted.
export class PrimaryConnector implements AsyncDisposable {
  private readonly options: Required<PrimaryConnectorOptions>;
  private readonly probes = new Map<string, NodeProbe>();
  private closed = false;
  // The node the last connection went to.
  primary: string | undefined;

  constructor(options: PrimaryConnectorOptions) {
    this.options = { reopenAfterMs: 500, resolveAfterMs: 3000, probeTimeoutMs: 1000, ...options };
    for (const node of options.nodes) this.probes.set(node, { resolvedAt: 0, failedAt: 0 });
  }

  // A new connection to the node that is not in recovery; throws NoPrimaryError saying what each
  // node answered when none is.
  connect = async (): Promise<pg.Client> => {
    if (this.closed) throw new Error('The primary connector was closed');
    const answers = await Promise.all(this.options.nodes.map(async (node) => ({ node, inRecovery: await this.inRecovery(node) })));
    const writable = answers.filter((a) => a.inRecovery === false).map((a) => a.node);
    if (writable.length === 0) {
      throw new NoPrimaryError(`No node accepts writes: ${answers.map((a) => `${a.node} ${a.inRecovery === true ? 'is in recovery' : `unreachable (${this.probes.get(a.node)!.lastError ?? 'not tried yet'})`}`).join(', ')}`);
    }
    // Two writable nodes would be a split brain; take the one seen before, a client cannot tell.
    const node = writable.includes(this.primary!) ? this.primary! : writable[0]!;
    const client = await this.options.open(this.probes.get(node)!.address!);
    this.primary = node;
    return client;
  };

  // Nodes answering `select pg_is_in_recovery()`: true, false, or undefined when unreachable.
  private async inRecovery(node: string): Promise<boolean | undefined> {
    const probe = this.probes.get(node)!;
    const now = Date.now();
    if (!probe.client) {
      if (now - probe.failedAt < this.options.reopenAfterMs) return undefined;
      try {
        if (!probe.address || (probe.failedAt >= probe.resolvedAt && now - probe.resolvedAt >= this.options.resolveAfterMs)) {
          probe.address = await this.options.resolve(node);
          probe.resolvedAt = Date.now();
        }
        const opening = this.options.open(probe.address);
        // A connection that arrives after its attempt gave up is closed, not leaked.
        probe.client = await withTimeout(opening, this.options.probeTimeoutMs * 3, `connecting to ${node}`)
          .catch((error: unknown) => { void opening.then((late) => late.end()).catch(() => undefined); throw error; });
      } catch (error) {
        return this.failed(probe, error);
      }
    }
    try {
      const result = await withTimeout(probe.client.query<{ r: boolean }>('select pg_is_in_recovery() as r'), this.options.probeTimeoutMs, `pg_is_in_recovery() on ${node}`);
      return result.rows[0]!.r;
    } catch (error) {
      return this.failed(probe, error);
    }
  }

  private failed(probe: NodeProbe, error: unknown): undefined {
    probe.failedAt = Date.now();
    probe.lastError = error instanceof Error ? error.message : String(error);
    const client = probe.client;
    probe.client = undefined;
    void client?.end().catch(() => undefined);
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.probes.values()].map(async (probe) => {
      const client = probe.client;
      probe.client = undefined;
      await client?.end().catch(() => undefined);
    }));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
