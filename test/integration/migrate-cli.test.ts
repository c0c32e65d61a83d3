import { describe, expect, it } from 'vitest';
import { runMigrate } from '../../src/cli/migrate.js';
import { captureIo } from '../support/cli.js';
import { withClient, DATABASE_URL } from '../support/postgres.js';

describe('touchline migrate on the real Postgres', () => {
  it('applies the migrations once, then finds the schema up to date', async () => {
    const schema = `migrate_cli_${process.pid}`;
    try {
      const first = captureIo();
      expect(await runMigrate([], first, { DATABASE_URL, PG_SCHEMA: schema })).toBe(0);
      expect(first.out()).toBe(`applied 001_attribution, 002_one_copy_of_credits to schema ${schema}\n`);
      const second = captureIo();
      expect(await runMigrate([], second, { DATABASE_URL, PG_SCHEMA: schema })).toBe(0);
      expect(second.out()).toBe(`schema ${schema} is up to date\n`);
      const tables = await withClient(async (db) =>
        (
          await db.query<{ t: string }>(
            `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
            [schema],
          )
        ).rows.map((r) => r.t),
      );
      expect(tables).toEqual([
        'attribution_credit',
        'opportunity_answer',
        'pipeline_by_channel_segment',
        'schema_migrations',
      ]);
    } finally {
      await withClient((db) => db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    }
  });

  it('lists bad settings and exits 2', async () => {
    const io = captureIo();
    expect(await runMigrate([], io, { DATABASE_URL: 'mysql://x', PG_SCHEMA: 'Bad-Name' })).toBe(2);
    expect(io.err()).toContain('DATABASE_URL: must be a URL starting with postgres: or postgresql:');
    expect(io.err()).toContain('PG_SCHEMA: must be a lower-case SQL identifier');
  });
});
