import type { z } from 'zod';
import { migrate } from '../adapters/postgres/migrate.js';
import { closePool, createPool } from '../adapters/postgres/pool.js';
import { configFields } from '../config.js';
import { postgresSsl } from '../security.js';
import { parseCommandArgs } from './args.js';
import type { CliIo } from './replay.js';

export const MIGRATE_USAGE = `Usage: touchline migrate [--rebuild-day-totals]

Applies pending Postgres migrations (DATABASE_URL, PG_SCHEMA from the environment) and exits.
The service also migrates at start; this command lets a deployment run migrations as a separate
step, under a role allowed to change the schema.

The per-day totals (pipeline_by_day, pipeline_by_campaign_day) are kept in one time zone,
REPORTING_TIME_ZONE (default UTC), filled from the stored answers the first time. A service
started with another zone is refused; to change the zone, stop every instance and run this with
--rebuild-day-totals and the new REPORTING_TIME_ZONE.

Options:
  --rebuild-day-totals   refill the per-day totals from the answers in REPORTING_TIME_ZONE
  -h, --help             show this help`;

const migrateConfig = configFields.pick({
  DATABASE_URL: true,
  PG_SCHEMA: true,
  PG_SSL_MODE: true,
  PG_SSL_CA_FILE: true,
  REPORTING_TIME_ZONE: true,
});

export async function runMigrate(
  argv: readonly string[],
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const { values } = parseCommandArgs(argv, { 'rebuild-day-totals': { type: 'boolean' } }, MIGRATE_USAGE);
  if (values.help === true) {
    io.stdout(`${MIGRATE_USAGE}\n`);
    return 0;
  }
  const parsed = migrateConfig.safeParse(env);
  if (!parsed.success) {
    io.stderr(
      `touchline migrate: invalid configuration:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}\n`,
    );
    return 2;
  }
  const config: z.infer<typeof migrateConfig> = parsed.data;
  const pool = createPool(config.DATABASE_URL, { max: 1, ssl: postgresSsl(config) });
  try {
    const rebuild = values['rebuild-day-totals'] === true;
    const applied = await migrate(pool, config.PG_SCHEMA, undefined, {
      reportingTimeZone: config.REPORTING_TIME_ZONE,
      rebuildDayTotals: rebuild,
    });
    if (rebuild)
      io.stdout(
        `rebuilt the per-day totals of schema ${config.PG_SCHEMA} in ${config.REPORTING_TIME_ZONE}\n`,
      );
    io.stdout(
      applied.length === 0
        ? `schema ${config.PG_SCHEMA} is up to date\n`
        : `applied ${applied.join(', ')} to schema ${config.PG_SCHEMA}\n`,
    );
    return 0;
  } finally {
    await closePool(pool);
  }
}
