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
      expect(first.out()).toBe(
        `applied 001_attribution, 002_one_copy_of_credits, 003_reporting_dimensions to schema ${schema}\n`,
      );
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
        'pipeline_by_campaign_day',
        'pipeline_by_channel_segment',
        'pipeline_by_day',
        'reporting_calendar',
        'schema_migrations',
      ]);
    } finally {
      await withClient((db) => db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    }
  });

  it('keeps the per-day totals in one zone: another is refused, --rebuild-day-totals refills them in it', async () => {
    const schema = `migrate_tz_${process.pid}`;
    const env = { DATABASE_URL, PG_SCHEMA: schema };
    try {
      expect(await runMigrate([], captureIo(), env)).toBe(0);
      // One live answer by hand: O1 created 2024-03-10T03:30Z (New York: 2024-03-09 22:30 EST),
      // 100 credited 60 Adwords (campaign K1) + 40 Webinar (no campaign).
      await withClient((db) =>
        db.query(
          `INSERT INTO ${schema}.opportunity_answer (opportunity_id, model, revision, reason, deleted, account_id,
             sales_segment, amount, opportunity_created_at, credits, updated_at)
           VALUES ('O1', 'linear', 1, 'test', false, 'A1', 'Commercial', 100, '2024-03-10T03:30:00Z',
             '[{"touchpointId":"T1","channel":"Adwords","occurredAt":0,"amount":"60","campaign":"K1"},
               {"touchpointId":"T2","channel":"Webinar","occurredAt":0,"amount":"40"}]', now())`,
        ),
      );
      const refused = await runMigrate([], captureIo(), {
        ...env,
        REPORTING_TIME_ZONE: 'America/New_York',
      }).catch((e: unknown) => e);
      expect((refused as Error).message).toContain(
        'REPORTING_TIME_ZONE is America/New_York, but the per-day totals in schema',
      );
      const io = captureIo();
      expect(
        await runMigrate(['--rebuild-day-totals'], io, { ...env, REPORTING_TIME_ZONE: 'America/New_York' }),
      ).toBe(0);
      expect(io.out()).toContain('rebuilt the per-day totals');
      const rows = await withClient(async (db) => ({
        day: (
          await db.query(
            `SELECT created_day::text AS d, channel, pipeline_amount::text AS a, opportunity_count::int AS n
               FROM ${schema}.pipeline_by_day ORDER BY channel`,
          )
        ).rows,
        campaign: (
          await db.query(
            `SELECT channel, campaign, pipeline_amount::text AS a FROM ${schema}.pipeline_by_campaign_day ORDER BY channel`,
          )
        ).rows,
        zone: (await db.query(`SELECT time_zone FROM ${schema}.reporting_calendar`)).rows,
      }));
      expect(rows.day).toEqual([
        { d: '2024-03-09', channel: 'Adwords', a: '60.000000000', n: 1 },
        { d: '2024-03-09', channel: 'Webinar', a: '40.000000000', n: 1 },
      ]);
      expect(rows.campaign).toEqual([
        { channel: 'Adwords', campaign: 'K1', a: '60.000000000' },
        { channel: 'Webinar', campaign: '', a: '40.000000000' },
      ]);
      expect(rows.zone).toEqual([{ time_zone: 'America/New_York' }]);
      // Now the new zone is the one: a plain migrate in it passes.
      expect(await runMigrate([], captureIo(), { ...env, REPORTING_TIME_ZONE: 'America/New_York' })).toBe(0);
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
