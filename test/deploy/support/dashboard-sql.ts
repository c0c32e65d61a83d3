// Runs every SQL query of the dashboard against a real Postgres, the way the Compose stack runs
// it: the roles of deploy/postgres/init (service owner, read-only Grafana role), the schema made
// by the service's own migrations (connected as the owner role), a few known rows, and each
// query executed as the read-only role. Everything is created under unique names and dropped.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { migrate } from '../../../src/adapters/postgres/migrate.js';
import { closePool, createPool } from '../../../src/adapters/postgres/pool.js';
import { dashboardQueries, dateRange, expandQuery, loadDashboard } from './dashboard.js';
import { PATHS } from './files.js';

export const DEFAULT_DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface SqlRun {
  readonly panel: string;
  readonly sql: string;
  readonly rows?: Record<string, unknown>[];
  readonly error?: string;
}

export interface SqlCheck {
  readonly runs: SqlRun[];
  /** What the read-only role got when it tried to write (it must fail). */
  readonly readerWrite: string;
}

const urlAs = (base: string, user: string): string => {
  const url = new URL(base);
  url.username = user;
  url.password = '';
  return url.toString();
};

/** The time range the queries are expanded with: February 2025 (local dates), as Grafana sends it. */
export const FIXTURE_RANGE = dateRange('2025-02-01', '2025-03-01');

/**
 * Known rows: amounts on the half-cent to pin half-to-even rounding, two models, one restatement.
 * The credits are the answers' JSON (attribution_credit is a view over it since migration 002).
 * The per-day cells add up, inside FIXTURE_RANGE, to the all-time cells (one cell split over two
 * days); the days just before and after the range hold large amounts the panels must leave out.
 */
function fixtureSql(schema: string): string {
  const cell = (model: string, channel: string, segment: string, amount: string, count: number) =>
    `INSERT INTO ${schema}.pipeline_by_channel_segment VALUES ('${model}', '${channel}', '${segment}', ${amount}, ${count}, '2025-03-01T00:00:00Z');`;
  const day = (
    model: string,
    createdDay: string,
    channel: string,
    segment: string,
    amount: string,
    count: number,
  ) =>
    `INSERT INTO ${schema}.pipeline_by_day VALUES ('${model}', '${createdDay}', '${channel}', '${segment}', ${amount}, ${count}, '2025-03-01T00:00:00Z');`;
  const campaignDay = (createdDay: string, channel: string, campaign: string, amount: string) =>
    `INSERT INTO ${schema}.pipeline_by_campaign_day VALUES ('linear', '${createdDay}', '${channel}', '${campaign}', 'Enterprise', ${amount}, 1, '2025-03-01T00:00:00Z');`;
  const JAN_1 = 1735689600000;
  const JAN_2 = 1735776000000;
  const credits = (
    ...rows: [touchpointId: string | null, channel: string, occurredAt: number | null, amount: string][]
  ) =>
    `'${JSON.stringify(rows.map(([touchpointId, channel, occurredAt, amount]) => ({ touchpointId, channel, occurredAt, amount })))}'`;
  return [
    cell('linear', 'Adwords', 'Enterprise', '10.005', 1),
    cell('linear', 'Adwords', 'Commercial', '10.015', 1),
    cell('linear', 'Webinar', 'Enterprise', '20.0051', 2),
    cell('linear', 'Unattributed', 'Commercial', '5', 1),
    cell('first_touch', 'Adwords', 'Enterprise', '30.025', 2),
    cell('first_touch', 'Unattributed', 'Commercial', '15', 1),
    day('linear', '2025-02-01', 'Adwords', 'Enterprise', '10.005', 1),
    day('linear', '2025-02-28', 'Adwords', 'Commercial', '10.015', 1),
    day('linear', '2025-02-01', 'Webinar', 'Enterprise', '10.0025', 1),
    day('linear', '2025-02-03', 'Webinar', 'Enterprise', '10.0026', 1),
    day('linear', '2025-02-02', 'Unattributed', 'Commercial', '5', 1),
    day('first_touch', '2025-02-01', 'Adwords', 'Enterprise', '30.025', 2),
    day('first_touch', '2025-02-02', 'Unattributed', 'Commercial', '15', 1),
    day('linear', '2025-01-31', 'Adwords', 'Enterprise', '1000', 1),
    day('linear', '2025-03-01', 'Adwords', 'Enterprise', '1000', 1),
    campaignDay('2025-02-01', 'Adwords', 'spring', '10.005'),
    campaignDay('2025-02-01', 'Webinar', '', '20.0051'),
    campaignDay('2025-03-01', 'Adwords', 'spring', '1000'),
    `INSERT INTO ${schema}.opportunity_answer VALUES
       ('O1', 'linear', 2, 'touch_arrived', false, 'A1', 'Enterprise', 100.005, '2025-02-01T00:00:00Z',
        ${credits(['T1', 'Adwords', JAN_1, '60.0025'], ['T2', 'Webinar', JAN_2, '40.0025'])}, '2025-03-01T00:00:00Z'),
       ('O2', 'linear', 1, 'created', false, 'A2', 'Commercial', 7, '2025-02-02T00:00:00Z',
        ${credits(['T1', 'Adwords', JAN_1, '7'], [null, 'Unattributed', null, '0'])}, '2025-03-01T00:00:00Z'),
       ('O3', 'linear', 3, 'deleted', true, NULL, NULL, NULL, NULL, '[]', '2025-03-02T00:00:00Z');`,
  ].join('\n');
}

/** The init script with unique role, schema and database names. */
function initSql(owner: string, reader: string, database: string): string {
  return readFileSync(PATHS.postgresInit, 'utf8')
    .replace(/\bDATABASE touchline\b/g, `DATABASE ${database}`)
    .replace(/\bgrafana_reader\b/g, reader)
    .replace(/\btouchline\b/g, owner);
}

export async function checkDashboardSql(
  databaseUrl = DEFAULT_DATABASE_URL,
  model = 'linear',
): Promise<SqlCheck> {
  const id = randomBytes(4).toString('hex');
  const owner = `deploy_owner_${id}`;
  const reader = `deploy_reader_${id}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  const ownerPool = createPool(urlAs(databaseUrl, owner), {
    max: 2,
    applicationName: 'touchline-deploy-check',
  });
  const readerPool = createPool(urlAs(databaseUrl, reader), {
    max: 1,
    applicationName: 'touchline-deploy-check',
  });
  try {
    const database =
      (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? 'test';
    await admin.query(initSql(owner, reader, database));
    // The schema is named like its owner (the init script's schema is the role's namesake).
    await migrate(ownerPool, owner);
    await ownerPool.query(fixtureSql(owner));
    const runs: SqlRun[] = [];
    for (const query of dashboardQueries(loadDashboard()).filter((q) => q.language === 'sql')) {
      const sql = expandQuery(query, { schema: owner, model, timeRange: FIXTURE_RANGE });
      try {
        const result = await readerPool.query<Record<string, unknown>>(sql);
        runs.push({ panel: query.panel, sql, rows: result.rows });
      } catch (error) {
        runs.push({ panel: query.panel, sql, error: (error as Error).message });
      }
    }
    const readerWrite = await readerPool.query(`DELETE FROM ${owner}.pipeline_by_channel_segment`).then(
      () => 'the read-only role could delete rows',
      (error: unknown) => (error as Error).message,
    );
    return { runs, readerWrite };
  } finally {
    await closePool(readerPool);
    await closePool(ownerPool);
    await admin.query(`DROP SCHEMA IF EXISTS ${owner} CASCADE`).catch(() => undefined);
    await admin.query(`DROP OWNED BY ${owner}, ${reader}`).catch(() => undefined);
    await admin.query(`DROP ROLE IF EXISTS ${reader}`).catch(() => undefined);
    await admin.query(`DROP ROLE IF EXISTS ${owner}`).catch(() => undefined);
    await admin.end();
  }
}
