// Real PostgreSQL for the component tests, started with testcontainers on the workshop image and
// with the image's own tools, as environments/replication/compose.yaml starts them: `pg-node
// primary` for a primary, `pg-node supervise` + pg_basebackup + `pg-ctl start` for a streaming
// replica, the shared configuration of environments/config mounted at /etc/workshop.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { GenericContainer, getContainerRuntimeClient, StartedNetwork, Wait, type StartedTestContainer } from 'testcontainers';
import { inject } from 'vitest';
import { connect, pollUntil } from '../../../harness/index.ts';
import { environmentsDir } from '../../../harness/paths.ts';
import { matrix, majorInfo } from '../../../harness/lab/majors.ts';
import { imageTag } from '../../../harness/image/images.ts';
import { RUN_ENV, runLabels } from './run.ts';

// Ryuk (the reaper container) cannot be pulled where no registry is reachable, and testcontainers
// fails at the first container without it. Cleanup is the global setup's job instead
// (test/components/global-setup.ts): its teardown, and its SIGINT/SIGTERM handler, remove
// everything labelled with this run.
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

// The major under test: WORKSHOP_PG, as on the lab path (`workshop verify --pg`), else the default.
export function componentsMajor(): number {
  const major = process.env.WORKSHOP_PG ? Number(process.env.WORKSHOP_PG) : matrix().defaultMajor;
  majorInfo(major);
  return major;
}

// The id of this run (labels every container and network), from the global setup.
export function componentsRun(): string {
  const run = inject('componentsRun') ?? process.env[RUN_ENV];
  if (!run) throw new Error(`No components run id: run these files through the components project (vitest.config.ts), whose global setup sets it`);
  return run;
}

// Passwords are random per cluster: nothing to guess, nothing baked into the image.
export interface Secrets {
  postgres: string;
  replication: string;
  pgbouncerAuth: string;
}

function secrets(): Secrets {
  return { postgres: randomBytes(18).toString('base64url'), replication: randomBytes(18).toString('base64url'), pgbouncerAuth: randomBytes(18).toString('base64url') };
}

// One started PostgreSQL container of a cluster.
export class Node {
  constructor(readonly name: string, readonly container: StartedTestContainer, private readonly secrets: Secrets) {}

  get id(): string {
    return this.container.getId();
  }

  // Where its port (5432, or PgBouncer's 6432) is published on the host now (a container started
  // again gets a new port).
  async address(port = 5432): Promise<{ host: string; port: number }> {
    const result = await execa('docker', ['port', this.id, `${port}/tcp`], { reject: false });
    const match = /^127\.0\.0\.1:(\d+)$/m.exec(result.stdout);
    if (result.exitCode !== 0 || !match) throw new Error(`docker port ${this.name} (${this.id.slice(0, 12)}) ${port}/tcp gave exit ${result.exitCode}: ${result.stdout}${result.stderr}; expected 127.0.0.1:<port>`);
    return { host: '127.0.0.1', port: Number(match[1]) };
  }

  // A connection as postgres from the host, through the published port (the caller ends it).
  async connect(applicationName?: string) {
    const client = await connect(await this.address(), { password: this.secrets.postgres });
    if (applicationName) await client.query(`set application_name = '${applicationName}'`);
    return client;
  }

  // Its address on the cluster's network, its only one (what inet_server_addr() says).
  async networkAddress(): Promise<string> {
    const result = await execa('docker', ['inspect', '--format', '{{json .NetworkSettings.Networks}}', this.id]);
    const networks = Object.values(JSON.parse(result.stdout) as Record<string, { IPAddress: string }>);
    if (networks.length !== 1 || !networks[0]!.IPAddress) throw new Error(`${this.name}: expected one network with an address, found ${result.stdout}`);
    return networks[0]!.IPAddress;
  }

  // The password of postgres, for a client outside the cluster (PrimaryConnector's open).
  get password(): string {
    return this.secrets.postgres;
  }

  // Runs a command in the container; throws with the command, exit code, stdout and stderr.
  async exec(command: string[], options: { env?: Record<string, string>; user?: string } = {}): Promise<string> {
    const result = await this.container.exec(command, { env: options.env, user: options.user });
    if (result.exitCode !== 0) {
      throw new Error(`${this.name}: \`${command.join(' ')}\` exited ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    }
    return result.stdout;
  }

  // `docker kill`: SIGKILL to every process of the container, as the labs do to a primary.
  async kill(): Promise<void> {
    await execa('docker', ['kill', this.id]);
  }

  // `docker start` after a kill: the same command again (pg-node), the same network alias.
  async start(): Promise<void> {
    await execa('docker', ['start', this.id]);
  }
}

// A network and the nodes on it, stopped together.
export class Cluster implements AsyncDisposable {
  readonly secrets = secrets();
  readonly image = imageTag(componentsMajor());
  private readonly nodes: Node[] = [];

  private constructor(readonly network: StartedNetwork, readonly run: string) {}

  // A bridge network labelled with the run. testcontainers' Network takes no labels, so it is made
  // with testcontainers' own runtime client and wrapped in its StartedNetwork.
  static async create(): Promise<Cluster> {
    const run = componentsRun();
    const client = await getContainerRuntimeClient();
    const name = `${run}-${randomBytes(4).toString('hex')}`;
    const network = await client.network.create({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: runLabels(run) });
    return new Cluster(new StartedNetwork(client, name, network), run);
  }

  private container(name: string): GenericContainer {
    return new OnClusterNetwork(this.image, this.network.getName(), name)
      .withLabels(runLabels(this.run))
      .withNetwork(this.network)
      .withHostname(name)
      .withSharedMemorySize(256 * 1024 * 1024)
      .withStartupTimeout(120_000);
  }

  private pgNode(name: string, command: string[], env: Record<string, string>): GenericContainer {
    return this.container(name)
      .withCommand(command)
      .withEnvironment({ POSTGRES_PASSWORD: this.secrets.postgres, REPLICATION_PASSWORD: this.secrets.replication, ...env })
      .withBindMounts([{ source: path.join(environmentsDir, 'config'), target: '/etc/workshop', mode: 'ro' }])
      .withExposedPorts(5432)
      // The healthcheck of environments/replication/compose.yaml: postgres answers on its usual
      // socket (pg-node initialises on a private one), or the node is still empty.
      .withHealthCheck({ test: ['CMD-SHELL', 'test ! -s "$PGDATA/PG_VERSION" || psql -XAtq -d postgres -c "select 1"'], interval: 500, timeout: 3000, retries: 240, startPeriod: 60_000 })
      .withWaitStrategy(Wait.forHealthCheck());
  }

  // A primary: `pg-node primary` initialises $PGDATA and runs postgres as the main process.
  async primary(name: string): Promise<Node> {
    const container = await this.pgNode(name, ['pg-node', 'primary'], {}).start();
    return this.add(new Node(name, container, this.secrets));
  }

  // A streaming replica of `primary`, made as the lab's attendee makes one: an empty `pg-node
  // supervise` node, `pg_basebackup -R -C -S <name>`, then `pg-ctl start`; returns once it streams.
  async replica(name: string, primary: Node): Promise<Node> {
    const container = await this.pgNode(name, ['pg-node', 'supervise'], { PG_NODE_INIT: 'no' }).start();
    const node = this.add(new Node(name, container, this.secrets));
    await node.exec(['pg_basebackup', '-h', primary.name, '-U', 'replicator', '-D', '/var/lib/postgresql/data', '-R', '-C', '-S', name, '-c', 'fast']);
    await node.exec(['pg-ctl', 'start']);
    await using upstream = await primary.connect();
    await pollUntil(`${name} to stream from ${primary.name}`, async () => (await upstream.query<{ state: string }>('select state from pg_stat_replication where application_name = $1', [name])).rows[0]?.state, (state) => state === 'streaming', { timeoutMs: 60_000 });
    return node;
  }

  // PgBouncer as the platform runs it (`pgbouncer-node`, environments/config/pgbouncer.ini), in
  // front of `upstream` instead of HAProxy, with `poolSize` server connections per pool and no reserve.
  async pgbouncer(name: string, upstream: string, poolSize: number): Promise<Node> {
    const file = path.join(environmentsDir, 'config', 'pgbouncer.ini');
    let ini = readFileSync(file, 'utf8');
    for (const [pattern, value] of [[/host=haproxy port=5000/g, `host=${upstream} port=5432`], [/^default_pool_size = \d+$/m, `default_pool_size = ${poolSize}`], [/^reserve_pool_size = \d+$/m, 'reserve_pool_size = 0']] as const) {
      if (!pattern.test(ini)) throw new Error(`${file}: expected a line matching ${pattern} to adapt for the component tests; found none`);
      ini = ini.replace(pattern, value);
    }
    const container = await this.container(name)
      .withCommand(['pgbouncer-node', '/tmp/pgbouncer-components.ini'])
      // pgbouncer-node writes auth_user's line too; the plain primary has no such role, which only
      // matters to roles other than postgres (looked up through auth_query): none log in here.
      .withEnvironment({ POSTGRES_PASSWORD: this.secrets.postgres, PGBOUNCER_AUTH_PASSWORD: this.secrets.pgbouncerAuth })
      .withCopyContentToContainer([{ content: ini, target: '/tmp/pgbouncer-components.ini' }])
      .withExposedPorts(6432)
      .withWaitStrategy(Wait.forLogMessage(/process up: PgBouncer/))
      .start();
    return this.add(new Node(name, container, this.secrets));
  }

  // A client container (`sleep infinity`, as compose's client service) with libpq pointed at `host`.
  async client(name: string, host: string): Promise<Node> {
    const container = await this.container(name)
      .withCommand(['sleep', 'infinity'])
      .withEnvironment({ PGHOST: host, PGUSER: 'postgres', PGDATABASE: 'postgres', PGPASSWORD: this.secrets.postgres })
      .start();
    return this.add(new Node(name, container, this.secrets));
  }

  private add(node: Node): Node {
    this.nodes.push(node);
    return node;
  }

  // Removes the nodes and the network (the global teardown removes whatever this misses).
  async stop(): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all(this.nodes.map((node) => node.container.stop({ timeout: 1, remove: true, removeVolumes: true }).catch((error: unknown) => errors.push(error))));
    await this.network.stop().catch((error: unknown) => errors.push(error));
    if (errors.length > 0) throw new AggregateError(errors, `Stopping the cluster of run ${this.run}: ${errors.map(String).join('; ')}`);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

// Two adjustments to testcontainers' defaults, made before the container is created:
// - it publishes ports on every interface; the project's rule is 127.0.0.1 only;
// - `withNetworkAliases` would also attach the container to Docker's default bridge (shared with
//   every other container of the machine); the alias is given on the cluster's network alone.
class OnClusterNetwork extends GenericContainer {
  constructor(image: string, private readonly networkName: string, private readonly alias: string) {
    super(image);
  }

  protected override async beforeContainerCreated(): Promise<void> {
    for (const bindings of Object.values(this.hostConfig.PortBindings ?? {}) as { HostIp?: string }[][]) {
      for (const binding of bindings) binding.HostIp = '127.0.0.1';
    }
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [this.networkName]: { Aliases: [this.alias] } } };
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    componentsRun: string;
  }
}
