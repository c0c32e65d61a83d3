/**
 * TLS and SASL for real, against servers that demand them (scripts/secure-services.sh): Kafka
 * with only a SASL_SSL listener (SCRAM-SHA-512), Redis with only a TLS port and an ACL user,
 * Postgres with hostssl-only scram-sha-256, all with certificates of a test CA. The registry
 * stays the plain one. The service runs under a DML-only Postgres role with MIGRATE_ON_START
 * false (migrations applied beforehand by `touchline migrate` as the owner role) and must end
 * equal to `replay`; wrong passwords and an untrusted CA are each refused by `touchline serve`
 * with one line naming the server and the cause, quickly.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../src/adapters/files/dataset.js';
import { closePool, createPool } from '../../src/adapters/postgres/pool.js';
import { readPipelineTable } from '../../src/adapters/postgres/queries.js';
import { replay } from '../../src/app/replay.js';
import { runGenerate } from '../../src/cli/generate.js';
import { runMigrate } from '../../src/cli/migrate.js';
import { runProduce } from '../../src/cli/produce.js';
import { serveDefaults } from '../../src/cli/settings.js';
import { formatNanos } from '../../src/domain/money.js';
import { startService, type RunningService } from '../../src/service.js';
import { captureIo, tempDir } from '../support/cli.js';
import { configOf, eventually, isolatedRun, SERVICES } from '../support/services.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/secure-services.sh');

let secure: Record<string, string> = {};
/** Whether this file started the secure servers (then it stops them too). */
let startedHere = false;

const script = (command: string): string =>
  execFileSync('bash', [SCRIPT, command], {
    encoding: 'utf8',
    timeout: 150_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

beforeAll(() => {
  try {
    script('status');
  } catch {
    script('up');
    startedHere = true;
  }
  secure = Object.fromEntries(
    script('env')
      .split('\n')
      .map((line) => /^export ([A-Z_]+)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1] ?? '', m[2] ?? '']),
  );
}, 150_000);

afterAll(() => {
  if (startedHere) script('down');
});

const s = (name: string): string => {
  const value = secure[name];
  if (value === undefined) throw new Error(`secure-services.sh env did not print ${name}`);
  return value;
};

/** A run's env pointed at the secure servers, as the DML-only role, without migrations. */
function secureEnv(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return isolatedRun(name, {
    KAFKA_BROKERS: s('SECURE_KAFKA_BROKERS'),
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: s('SECURE_CA_FILE'),
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: s('SECURE_KAFKA_USERNAME'),
    KAFKA_SASL_PASSWORD: s('SECURE_KAFKA_PASSWORD'),
    REDIS_URL: s('SECURE_REDIS_URL'),
    REDIS_TLS_CA_FILE: s('SECURE_CA_FILE'),
    DATABASE_URL: s('SECURE_PG_APP_URL'),
    PG_SSL_MODE: 'verify-full',
    PG_SSL_CA_FILE: s('SECURE_CA_FILE'),
    MIGRATE_ON_START: 'false',
    SCHEMA_REGISTRY_URL: SERVICES.SCHEMA_REGISTRY_URL,
    ...extra,
  }).env;
}

const testCa = (): string => readFileSync(s('SECURE_CA_FILE'), 'utf8');

/** A pg client verified against the test CA (libpq's verify-full). */
async function withPg<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, ssl: { ca: testCa(), rejectUnauthorized: true } });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

type Row = [model: string, channel: string, segment: string, amount: string, opportunities: number];
const sortRows = (rows: Row[]): Row[] => rows.sort((a, b) => (a.join('|') < b.join('|') ? -1 : 1));
const normalise = (text: string): string =>
  text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;

describe('TLS and SASL against servers that demand them', { timeout: 120_000 }, () => {
  it('a DML-only service reads SASL_SSL Kafka, TLS Redis and SSL Postgres and ends equal to replay; that role cannot change the schema', async () => {
    const out = tempDir('touchline-secure-');
    expect(
      await runGenerate(
        [
          '--out',
          out,
          '--contacts',
          '200',
          '--opportunities',
          '100',
          '--touches',
          '2000',
          '--seed',
          '31',
          '--update-rate',
          '0.1',
        ],
        captureIo(),
      ),
    ).toBe(0);
    const dir = join(out, 'events');
    const result = replay(openDataset(dir).records, {
      ...serveDefaults(dir),
    });
    const expected = sortRows(
      result.cells.map((c): Row => [c.model, c.channel, c.segment, formatNanos(c.amount), c.opportunities]),
    );
    expect(expected.length).toBeGreaterThan(20);

    const env = secureEnv('secure');
    const schema = env['PG_SCHEMA'] ?? '';
    // Migrations as the owner role, through the CLI, over verify-full TLS.
    const migrated = captureIo();
    expect(await runMigrate([], migrated, { ...env, DATABASE_URL: s('SECURE_PG_OWNER_URL') })).toBe(0);
    expect(migrated.out()).toContain(`to schema ${schema}`);

    let service: RunningService | undefined;
    const pool = createPool(s('SECURE_PG_APP_URL'), {
      max: 1,
      ssl: { ca: testCa(), rejectUnauthorized: true },
    });
    try {
      service = await startService(configOf(env), () => undefined);
      const produced = captureIo();
      expect(await runProduce(['--data', dir, '--batch', '1000', '--partitions', '3'], produced, env)).toBe(
        0,
      );

      const actual = await eventually(
        async () => {
          const rows = await readPipelineTable(pool, schema).catch(() => []);
          return sortRows(
            rows.map((r): Row => [
              r.model,
              r.channel,
              r.sales_segment,
              normalise(r.pipeline_amount),
              Number(r.opportunity_count),
            ]),
          );
        },
        (rows) => JSON.stringify(rows) === JSON.stringify(expected),
        60_000,
      );
      expect(actual).toEqual(expected);
    } finally {
      await service?.stop();
      await closePool(pool);
    }

    // The service's role: DML yes (it just wrote everything), DDL and TRUNCATE no.
    await withPg(s('SECURE_PG_APP_URL'), async (client) => {
      const refused = async (sql: string): Promise<string> => {
        const error = await client.query(sql).then(
          () => undefined,
          (e: unknown) => e as { code?: string; message: string },
        );
        expect(error, sql).toBeDefined();
        expect(error?.code, `${sql}: ${error?.message ?? ''}`).toBe('42501'); // insufficient_privilege
        return error?.message ?? '';
      };
      expect(await refused(`CREATE TABLE "${schema}".intruder (id int)`)).toMatch(
        /permission denied for schema/,
      );
      expect(await refused(`ALTER TABLE "${schema}".opportunity_answer ADD COLUMN intruder int`)).toMatch(
        /must be owner of table/,
      );
      expect(await refused(`DROP TABLE "${schema}".pipeline_by_channel_segment`)).toMatch(
        /must be owner of table/,
      );
      expect(await refused(`CREATE SCHEMA intruder_${schema}`)).toMatch(/permission denied for database/);
      expect(await refused(`TRUNCATE "${schema}".pipeline_by_channel_segment`)).toMatch(
        /permission denied for table/,
      );
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${schema}".opportunity_answer`,
      );
      expect(Number(rows[0]?.n)).toBeGreaterThan(0);
    });

    await withPg(s('SECURE_PG_OWNER_URL'), (client) => client.query(`DROP SCHEMA "${schema}" CASCADE`));
    const redis = new Redis(s('SECURE_REDIS_URL'), { tls: { ca: testCa() } });
    try {
      const keys = await redis.keys(`${env['REDIS_KEY_PREFIX'] ?? 'none:'}*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });

  /** `touchline serve` as a process; resolves with its exit code, stderr and how long it ran. */
  function serve(
    env: Record<string, string>,
  ): Promise<{ code: number | null; stderr: string; stdout: string; ms: number }> {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 45_000);
    return new Promise((done) =>
      child.on('exit', (code) => {
        clearTimeout(kill);
        done({ code, stderr, stdout, ms: Date.now() - started });
      }),
    );
  }

  it('refuses a wrong Kafka, Redis or Postgres password and an untrusted CA with one clear line each, quickly', async () => {
    const wrong = 'not-the-password-' + Math.random().toString(36).slice(2);
    const withPassword = (url: string, password: string): string => {
      const parsed = new URL(url);
      parsed.password = password;
      return parsed.toString();
    };
    const other = s('SECURE_OTHER_CA_FILE');
    const cases: { name: string; env: Record<string, string>; line: RegExp }[] = [
      {
        name: 'Kafka password',
        env: { KAFKA_SASL_PASSWORD: wrong },
        line: /^touchline serve: Kafka at 127\.0\.0\.1:\d+ refused the SASL login of user "touchline" \(scram-sha-512\): .*invalid credentials/,
      },
      {
        name: 'Redis password',
        env: { REDIS_URL: withPassword(s('SECURE_REDIS_URL'), wrong) },
        line: /^touchline serve: Redis at rediss:\/\/touchline:\*\*\*@127\.0\.0\.1:\d+\/? refused the credentials: WRONGPASS/,
      },
      {
        name: 'Postgres password',
        env: { DATABASE_URL: withPassword(s('SECURE_PG_APP_URL'), wrong) },
        line: /^touchline serve: Postgres at touchline_app@127\.0\.0\.1:\d+\/touchline refused the login: password authentication failed for user "touchline_app"$/,
      },
      {
        name: 'Kafka CA',
        env: { KAFKA_SSL_CA_FILE: other },
        line: /^touchline serve: Kafka at 127\.0\.0\.1:\d+: server certificate not trusted: /,
      },
      {
        name: 'Redis CA',
        env: { REDIS_TLS_CA_FILE: other },
        line: /^touchline serve: Redis at rediss:\/\/touchline:\*\*\*@127\.0\.0\.1:\d+\/?: server certificate not trusted: /,
      },
      {
        name: 'Postgres CA',
        env: { PG_SSL_CA_FILE: other },
        line: /^touchline serve: Postgres at touchline_app@127\.0\.0\.1:\d+\/touchline: server certificate not trusted: /,
      },
    ];
    const secrets = [
      wrong,
      s('SECURE_KAFKA_PASSWORD'),
      new URL(s('SECURE_REDIS_URL')).password,
      new URL(s('SECURE_PG_APP_URL')).password,
    ];
    // Two at a time: six Node start-ups at once on two cores would only measure the machine.
    const results: Awaited<ReturnType<typeof serve>>[] = [];
    for (let i = 0; i < cases.length; i += 2) {
      results.push(
        ...(await Promise.all(
          cases.slice(i, i + 2).map((c) => serve(secureEnv('refused', { LOG_LEVEL: 'info', ...c.env }))),
        )),
      );
    }
    cases.forEach((c, i) => {
      const run = results[i];
      expect(run, c.name).toBeDefined();
      if (run === undefined) return;
      const lines = run.stderr.split('\n').filter((l) => l !== '');
      expect(lines, `${c.name}: ${run.stderr}`).toHaveLength(1);
      expect(lines[0], c.name).toMatch(c.line);
      expect(run.stderr, c.name).not.toMatch(/\n\s+at /);
      for (const secret of secrets) expect(run.stderr + run.stdout, c.name).not.toContain(secret);
      expect(run.code, c.name).toBe(1);
      expect(run.ms, `${c.name} took ${run.ms} ms`).toBeLessThan(20_000);
    });
  });
});
