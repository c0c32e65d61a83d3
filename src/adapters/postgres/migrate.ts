import type pg from 'pg';
import { AppError } from '../../errors.js';
import { quoteSchema } from './errors.js';
import { rebuildDayTotals, tablesOf, type Tables } from './statements.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import { withTransaction } from './pool.js';

/** Namespace of the migration lock (pg_advisory_xact_lock(int, int)); the store's locks use the bigint form. */
const MIGRATION_LOCK_NAMESPACE = 'touchline.migrate';

/**
 * Applies the pending migrations to `schema` (created if missing), in order, in one transaction.
 * Several instances start at once: the advisory lock makes the others wait and then find nothing
 * to do. Returns the ids applied by this call.
 */
export async function migrate(
  pool: pg.Pool,
  schema: string,
  migrations: readonly Migration[] = MIGRATIONS,
  calendar: CalendarOptions = { reportingTimeZone: 'UTC' },
): Promise<string[]> {
  const quoted = quoteSchema(schema);
  return withTransaction(pool, `migration of schema ${schema}`, async (client) => {
    await lockMigrations(client, schema);
    await createBookkeeping(client, quoted);
    const applied = await appliedIds(client, quoted);
    const pending = migrations.filter((m) => !applied.has(m.id));
    for (const migration of pending) await applyMigration(client, quoted, migration);
    if (migrations.some((m) => m.id === REPORTING_MIGRATION))
      await settleReportingCalendar(client, tablesOf(schema), calendar);
    return pending.map((m) => m.id);
  });
}

const REPORTING_MIGRATION = '003_reporting_dimensions';

export interface CalendarOptions {
  /** REPORTING_TIME_ZONE: the zone the per-day tables must be kept in. */
  readonly reportingTimeZone: string;
  /** Rebuild the per-day tables from the answers when they were kept in another zone. */
  readonly rebuildDayTotals?: boolean;
}

/**
 * The per-day tables hold days of one time zone. First time (or after `--rebuild-day-totals`)
 * they are filled from the stored answers in REPORTING_TIME_ZONE; after that, an instance
 * configured with another zone is refused, since its deltas would land on other days.
 */
async function settleReportingCalendar(
  client: pg.ClientBase,
  t: Tables,
  calendar: CalendarOptions,
): Promise<void> {
  const current = await client.query<{ time_zone: string }>(`SELECT time_zone FROM ${t.calendar}`);
  const stored = current.rows[0]?.time_zone;
  if (stored === calendar.reportingTimeZone && calendar.rebuildDayTotals !== true) return;
  if (stored !== undefined && calendar.rebuildDayTotals !== true)
    throw new AppError(
      'CONFIG_INVALID',
      `REPORTING_TIME_ZONE is ${calendar.reportingTimeZone}, but the per-day totals in schema ${t.schema} are kept in ${stored}: ` +
        'stop every instance and run `touchline migrate --rebuild-day-totals` with the new zone, or set the zone back',
    );
  await rebuildDayTotals(client, t, calendar.reportingTimeZone);
}

async function lockMigrations(client: pg.ClientBase, schema: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [
    MIGRATION_LOCK_NAMESPACE,
    schema,
  ]);
}

async function createBookkeeping(client: pg.ClientBase, schema: string): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
}

async function appliedIds(client: pg.ClientBase, schema: string): Promise<Set<string>> {
  const result = await client.query<{ id: string }>(`SELECT id FROM ${schema}.schema_migrations`);
  return new Set(result.rows.map((row) => row.id));
}

async function applyMigration(client: pg.ClientBase, schema: string, migration: Migration): Promise<void> {
  await client.query(`SET LOCAL search_path TO ${schema}`);
  await client.query(migration.sql);
  await client.query(`INSERT INTO ${schema}.schema_migrations (id) VALUES ($1)`, [migration.id]);
}
