// Patroni from the spec side: its REST API through the nodes' published ports, and what differs
// between Patroni versions, in one place.
import type { ComposeProject } from '../environment/compose.ts';
import { connect, publishedAddress, type Connect } from '../postgres/postgres.ts';
import { PrimaryConnector } from './primary.ts';
import { versionFacts } from '../lab/majors.ts';
import { pollUntil, type PollOptions } from '../spec/wait.ts';

export const REST_PORT = 8008;

export interface ClusterMember {
  name: string;
  role: 'leader' | 'replica' | 'sync_standby' | 'standby_leader' | string;
  state: string;
  timeline?: number;
  lag?: number | string;
  host?: string;
}

export interface ClusterState {
  members: ClusterMember[];
  pause?: boolean;
}

// The member holding the leader key in a GET /cluster state, if any.
export function leaderOf(state: ClusterState): string | undefined {
  return state.members.find((m) => m.role === 'leader')?.name;
}

// What the Patroni of a PostgreSQL major says and accepts where versions differ (the version table's facts).
export function patroniDialect(major: number) {
  const facts = versionFacts(major).patroni;
  return {
    version: facts.version,
    leaderRole: facts.leaderRole,
    ttlFloorSeconds: facts.ttlFloorSeconds,
    // Replicas in /cluster that stream: the table's state for this Patroni (`running` on 3.0, `streaming` on 4).
    streamingStates: [facts.replicaState] as string[],
  };
}

// A node's published REST address is looked up again at most this often after a failed request
// (a restarted container gets a new host port). Each lookup runs `docker compose port`, which costs
// far more than the request: polling every 200 ms must not spawn a process each time.
const RESOLVE_AGAIN_AFTER_MS = 2000;

export class PatroniCluster {
  private readonly addresses = new Map<string, { url: string; resolvedAt: number; stale: boolean }>();

  constructor(readonly project: ComposeProject, readonly nodes: string[] = ['pg1', 'pg2', 'pg3']) {}

  private async url(node: string, path: string): Promise<string> {
    const cached = this.addresses.get(node);
    if (cached && (!cached.stale || Date.now() - cached.resolvedAt < RESOLVE_AGAIN_AFTER_MS)) return `${cached.url}${path}`;
    try {
      const address = await publishedAddress(this.project, node, REST_PORT);
      const url = `http://${address.host}:${address.port}`;
      this.addresses.set(node, { url, resolvedAt: Date.now(), stale: false });
      return `${url}${path}`;
    } catch (error) {
      // A stopped container has no published port; keep the old address until the next lookup.
      if (cached) cached.resolvedAt = Date.now();
      throw error;
    }
  }

  // GET a REST endpoint of one node; returns the HTTP status and the parsed body.
  async get(node: string, path: string, timeoutMs = 2000): Promise<{ status: number; body: unknown }> {
    const url = await this.url(node, path);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      // Unreachable: look its address up again (at most every RESOLVE_AGAIN_AFTER_MS), in case the
      // container was restarted on a new host port.
      const cached = this.addresses.get(node);
      if (cached && !cached.stale) cached.stale = true;
      throw error;
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Some endpoints answer plain text.
    }
    return { status: response.status, body };
  }

  // The cluster as the first answering node sees it.
  async cluster(): Promise<ClusterState> {
    let lastError: unknown;
    for (const node of this.nodes) {
      try {
        const { status, body } = await this.get(node, '/cluster');
        if (status === 200) return body as ClusterState;
        lastError = new Error(`GET /cluster on ${node}: HTTP ${status}`);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  async leader(): Promise<ClusterMember | undefined> {
    return (await this.cluster()).members.find((m) => m.role === 'leader');
  }

  // Connections to whichever node accepts writes, through the published 5432 ports (for the writer
  // probe: `new Writer({ connect: connector.connect })`); close it when done.
  primaryConnector(credentials: Connect): PrimaryConnector {
    return new PrimaryConnector({
      nodes: this.nodes,
      resolve: (node) => publishedAddress(this.project, node, 5432),
      open: (address) => connect(address, credentials),
    });
  }

  // Waits until a leader other than `not` holds the leader key and the given number of replicas stream.
  async waitForLeader(options: PollOptions & { not?: string; replicas?: number } = {}): Promise<ClusterState> {
    const dialect = patroniDialect(this.project.major);
    const description = `a Patroni leader${options.not ? ` other than ${options.not}` : ''}${options.replicas !== undefined ? ` with ${options.replicas} streaming replica(s)` : ''}`;
    return pollUntil(description, () => this.cluster(), (state) => {
      const leader = state.members.find((m) => m.role === 'leader' && m.state === 'running');
      if (!leader || leader.name === options.not) return false;
      if (options.replicas === undefined) return true;
      const streaming = state.members.filter((m) => m.role !== 'leader' && dialect.streamingStates.includes(m.state));
      return streaming.length >= options.replicas;
    }, { intervalMs: 200, ...options });
  }
}
