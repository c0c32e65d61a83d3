import type { z } from 'zod';
import { migrate } from '../adapters/postgres/migrate.js';
import { closePool, createPool } from '../adapters/postgres/pool.js';
import { configFields } from '../config.js';
import { postgresSsl } from '../security.js';
import { parseCommandArgs } from './args.js';
import type { CliIo } from './replay.js';

export const MIGRATE_USAGE = `Usage: touchline migrate

Applies pending Postgres migrations (DATABASE_URL, PG_SCHEMA from the environment) and exits.
The service also migrates at start; this command lets a deployment run migrations as a separate
step, under a role allowed to change the schema.

Options:
  -h, --help   show this help`;

const migrateConfig = configFields.pick({
  DATABASE_URL: true,
  PG_SCHEMA: true,
  PG_SSL_MODE: true,
  PG_SSL_CA_FILE: true,
});

export async function runMigrate(
  argv: readonly string[],
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const { values } = parseCommandArgs(argv, {}, MIGRATE_USAGE);
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
    const applied = await migrate(pool, config.PG_SCHEMA);
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
