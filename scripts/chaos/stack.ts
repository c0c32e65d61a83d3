/**
 * The chaos suite's own backing services, never the shared ones (other people's tests run on
 * those): Kafka and a registry with persistent storage started by scripts/services.sh on other
 * ports and another run dir, a redis-server of its own (nothing on disk, as in production when
 * Redis is a cache), and a Postgres cluster initdb'd into the run dir. Each can be stopped,
 * restarted or wiped on its own: that is how faults are injected.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface StackPorts {
  readonly kafka: number;
  readonly registry: number;
  readonly redis: number;
  readonly postgres: number;
}

export const CHAOS_PORTS: StackPorts = { kafka: 29192, registry: 28181, redis: 26379, postgres: 25432 };

export interface StackEnv {
  readonly KAFKA_BROKERS: string;
  readonly SCHEMA_REGISTRY_URL: string;
  readonly REDIS_URL: string;
  readonly DATABASE_URL: string;
}

export function stackEnv(ports: StackPorts = CHAOS_PORTS): StackEnv {
  return {
    KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
    SCHEMA_REGISTRY_URL: `http://127.0.0.1:${ports.registry}/apis/ccompat/v7`,
    REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${ports.postgres}/test`,
  };
}

const PG_BIN = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin';
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Runs a command to its end without blocking the event loop (the load keeps flowing meanwhile). */
function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      { env, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error === null) resolve(stdout);
        else
          reject(
            new Error(
              `${command} ${args.join(' ')} failed (${String(error.code ?? error.signal)}):\n${stdout}${stderr}`,
            ),
          );
      },
    );
  });
}

/** Postgres refuses to run as root: the cluster belongs to the postgres OS user then. */
const asPostgres = (command: string, args: readonly string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, [...args]];

export class ChaosStack {
  readonly env: StackEnv;
  private redis: ChildProcess | null = null;
  private readonly pgDir: string;

  constructor(
    readonly root: string,
    readonly runDir: string,
    readonly ports: StackPorts = CHAOS_PORTS,
  ) {
    this.env = stackEnv(ports);
    this.pgDir = join(runDir, 'postgres');
  }

  private services(command: string): Promise<string> {
    return run('bash', [resolve(this.root, 'scripts/services.sh'), command], {
      ...process.env,
      KAFKA_PORT: String(this.ports.kafka),
      REGISTRY_PORT: String(this.ports.registry),
      TOUCHLINE_SERVICES_RUN: join(this.runDir, 'services'),
      REGISTRY_STORAGE_DIR: join(this.runDir, 'registry-storage'),
    });
  }

  async start(): Promise<void> {
    mkdirSync(this.runDir, { recursive: true });
    rmSync(join(this.runDir, 'registry-storage'), { recursive: true, force: true });
    // Leftovers of an interrupted run on our ports: ours (the ports are the suite's own).
    this.redisCli('SHUTDOWN', 'NOSAVE');
    await this.stopPostgres();
    await this.services('down');
    await Promise.all([this.startPostgres(), this.startRedis()]);
    await this.services('up');
  }

  async stop(): Promise<void> {
    try {
      await this.services('down');
    } finally {
      await this.stopRedis();
      await this.stopPostgres();
    }
  }

  // ---- Kafka and registry: scripts/services.sh ----
  async restartKafka(): Promise<void> {
    await this.services('kafka-stop');
    await this.services('kafka-start');
  }
  async stopRegistry(): Promise<void> {
    await this.services('registry-stop');
  }
  async startRegistry(): Promise<void> {
    await this.services('registry-start');
  }

  // ---- Redis: our own redis-server, nothing kept on disk ----
  async startRedis(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.ports.redis),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.runDir,
      ],
      { stdio: 'ignore' },
    );
    this.redis = child;
    for (let i = 0; i < 100; i += 1) {
      if (this.redisCli('PING').trim() === 'PONG') return;
      await sleep(100);
    }
    throw new Error(`redis-server on port ${this.ports.redis} did not answer`);
  }

  async stopRedis(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.redis;
    this.redis = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill(signal);
    await exited;
  }

  /** Redis restarted: killed (its memory is gone) and started again, empty. */
  async restartRedis(): Promise<void> {
    await this.stopRedis('SIGKILL');
    await this.startRedis();
  }

  flushRedis(): void {
    const answer = this.redisCli('FLUSHALL').trim();
    if (answer !== 'OK') throw new Error(`FLUSHALL answered ${answer}`);
  }

  redisCli(...args: string[]): string {
    const result = spawnSync('redis-cli', ['-p', String(this.ports.redis), ...args], { encoding: 'utf8' });
    return result.stdout ?? '';
  }

  // ---- Postgres: a cluster of our own in the run dir ----
  private async pgCtl(...args: string[]): Promise<void> {
    const [command, argv] = asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', join(this.pgDir, 'data'), ...args]);
    await run(command, argv);
  }

  async startPostgres(): Promise<void> {
    if (!existsSync(join(this.pgDir, 'data', 'PG_VERSION'))) {
      rmSync(this.pgDir, { recursive: true, force: true });
      mkdirSync(this.pgDir, { recursive: true });
      if (process.getuid?.() === 0) {
        const uid = Number((await run('id', ['-u', 'postgres'])).trim());
        const gid = Number((await run('id', ['-g', 'postgres'])).trim());
        chownSync(this.pgDir, uid, gid);
      }
      const [command, argv] = asPostgres(join(PG_BIN, 'initdb'), [
        '-D',
        join(this.pgDir, 'data'),
        '-A',
        'trust',
        '-U',
        'postgres',
        '-E',
        'UTF8',
        '--no-sync',
      ]);
      await run(command, argv);
    }
    await this.pgCtl(
      '-l',
      join(this.pgDir, 'postgres.log'),
      '-w',
      '-t',
      '60',
      '-o',
      this.pgOptions(),
      'start',
    );
    const [command, argv] = asPostgres(join(PG_BIN, 'psql'), [
      '-h',
      '127.0.0.1',
      '-p',
      String(this.ports.postgres),
      '-U',
      'postgres',
      '-tAc',
      "SELECT 1 FROM pg_database WHERE datname = 'test'",
    ]);
    if ((await run(command, argv)).trim() !== '1') {
      const [c2, a2] = asPostgres(join(PG_BIN, 'createdb'), [
        '-h',
        '127.0.0.1',
        '-p',
        String(this.ports.postgres),
        '-U',
        'postgres',
        'test',
      ]);
      await run(c2, a2);
    }
  }

  private pgOptions(): string {
    // Small: the machine is shared. fsync off: a Postgres crash (not an OS crash) loses nothing.
    return `-p ${this.ports.postgres} -k ${this.pgDir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=32MB -c max_connections=60`;
  }

  /** Postgres restarted the hard way: immediate shutdown (no checkpoint, clients cut), crash recovery at start. */
  async restartPostgres(): Promise<void> {
    await this.pgCtl(
      '-m',
      'immediate',
      '-l',
      join(this.pgDir, 'postgres.log'),
      '-w',
      '-t',
      '60',
      '-o',
      this.pgOptions(),
      'restart',
    );
  }

  async stopPostgres(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!existsSync(join(this.pgDir, 'data', 'postmaster.pid'))) return;
    try {
      await this.pgCtl('-m', mode, '-w', 'stop');
    } catch {
      // already stopped
    }
  }
}
