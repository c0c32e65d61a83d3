/**
 * Chaos: what production does to the service, under steady load, on a stack of its own
 * (scripts/chaos/stack.ts: never the shared servers). Two instances in one consumer group;
 * faults: kill -9 at random points, broker restart, Redis flushed, Redis restarted (empty),
 * Postgres restarted, registry restarted. After each: Postgres equals `replay` of the same
 * events cell by cell, the output topic's latest revision per (opportunity, model) equals
 * Postgres's with revisions 1..n all present, and every bad record is in the DLQ exactly once.
 * The summary table goes to stdout and to <run dir>/chaos-report.txt. See docs/chaos.md.
 */
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllInstances, sleep } from '../../scripts/chaos/fleet.js';
import { writeReport, type Failure } from '../../scripts/chaos/report.js';
import {
  runScenario,
  serviceEntry,
  type FaultContext,
  type Injection,
  type ScenarioResult,
} from '../../scripts/chaos/scenario.js';
import { ChaosStack } from '../../scripts/chaos/stack.js';

const ROOT = resolve(import.meta.dirname, '../..');
const RUN_DIR = process.env['CHAOS_RUN_DIR'] ?? '/tmp/touchline-chaos';
const SEED = Number(process.env['CHAOS_SEED'] ?? Date.now() % 1_000_000);
const RECOVER_TIMEOUT_MS = Number(process.env['CHAOS_RECOVER_TIMEOUT_S'] ?? 60) * 1000;
const RATE = Number(process.env['CHAOS_RATE'] ?? 1200);

/** mulberry32: a seeded PRNG, so a failing run can be repeated with CHAOS_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);

const stack = new ChaosStack(ROOT, RUN_DIR);
const results: ScenarioResult[] = [];
const failures: Failure[] = [];
let entry = '';
let scenarioNo = 0;
/** ms from a kill -9 until the group is stable without the dead member. */
const failovers: (number | null)[] = [];

beforeAll(async () => {
  await stack.start();
  entry = serviceEntry(ROOT);
}, 300_000);

afterAll(async () => {
  const header = `Touchline chaos suite — seed ${SEED}, ${RATE} records/s, ${cpus().length} CPUs, load average ${loadavg()
    .map((n) => n.toFixed(1))
    .join(' ')}, ${new Date().toISOString()}`;
  const text = writeReport(join(RUN_DIR, 'chaos-report.txt'), results, failures, header);
  process.stdout.write(`\n${text}\n(written to ${join(RUN_DIR, 'chaos-report.txt')})\n`);
  killAllInstances();
  if (process.env['CHAOS_KEEP_STACK'] !== '1') await stack.stop();
}, 120_000);

const until = async (ctx: FaultContext, share: number): Promise<void> => {
  while (ctx.progress() < share) await sleep(50);
};

/** Common checks; `stateLoss` adds what the service must show while it rebuilds lost Redis state. */
function problemsOf(r: ScenarioResult, stateLoss = false, outage?: string): string[] {
  const v = r.verdict;
  const p: string[] = [];
  if (!v.cellsEqual)
    p.push(
      `Postgres ≠ replay in ${v.cellsDiff.length} cells (${v.cellsDiff.slice(0, 3).join('; ')}); ${v.lostAnswers} answers lost or wrong, ${v.extraAnswers} extra`,
    );
  else if (v.lostAnswers + v.extraAnswers > 0)
    p.push(`${v.lostAnswers} answers lost or wrong, ${v.extraAnswers} extra`);
  if (v.outputMismatches.length > 0)
    p.push(
      `output topic ≠ Postgres for ${v.outputMismatches.length} (opportunity, model) (${v.outputMismatches.slice(0, 3).join('; ')})`,
    );
  if (v.revisionGaps.length > 0)
    p.push(
      `revision gaps on the output topic: ${v.revisionGaps.length} (${v.revisionGaps.slice(0, 3).join('; ')})`,
    );
  if (v.deadLetterCopies > 0) p.push(`${v.deadLetterCopies} bad records dead-lettered more than once`);
  // A producer send that failed for good and was sent again may have put bad records in the log
  // twice (two offsets, two dead letters): then the expected count is a lower bound.
  if (
    r.producerResumes === 0 ? v.deadLetters !== v.deadLettersExpected : v.deadLetters < v.deadLettersExpected
  )
    p.push(
      `DLQ holds ${v.deadLetters} distinct bad records, expected ${v.deadLettersExpected}${r.producerResumes > 0 ? ' or more' : ''}`,
    );
  if (r.recoverMs === null)
    p.push(
      `not recovered (lag 0, pending 0, Postgres = replay) within ${RECOVER_TIMEOUT_MS / 1000} s of the fault`,
    );
  if (r.crashed.length > 0) p.push(`instances exited on their own: ${r.crashed.join('; ')}`);
  if (outage !== undefined) {
    // One line when the outage starts and one when it ends, per instance, not one per retry.
    const failing = r.lines.filter((l) => l.includes(`${outage} failing (`));
    const again = r.lines.filter((l) => l.includes(`${outage} works again after`));
    if (failing.length === 0) p.push(`no log line says "${outage} failing"`);
    if (failing.length > 2 * 2)
      p.push(`${failing.length} "${outage} failing" lines for 2 instances (one per outage expected)`);
    if (again.length === 0) p.push(`no log line says "${outage} works again"`);
    if (!r.probes.readyz503) p.push('/readyz never answered 503 during the outage');
  }
  if (stateLoss) {
    if (!r.lines.some((l) => l.includes('state lost'))) p.push('no log line says "state lost"');
    if (!r.probes.readyz503) p.push('/readyz never answered 503 after the fault');
    if (r.probes.rebuildingMax !== 1)
      p.push(`touchline_state_rebuilding never 1 (max seen: ${r.probes.rebuildingMax ?? 'metric absent'})`);
    if ((r.probes.rebuildsTotal ?? 0) < 1)
      p.push(`touchline_state_rebuilds_total ${r.probes.rebuildsTotal ?? 'absent'}`);
  }
  return p;
}

async function scenario(
  fault: string,
  inject: (ctx: FaultContext) => Promise<Injection[]>,
  stateLoss = false,
  outage?: string,
): Promise<void> {
  scenarioNo += 1;
  const result = await runScenario({
    root: ROOT,
    runDir: RUN_DIR,
    stack,
    entry,
    fault,
    size: {
      contacts: 1200,
      opportunities: 600,
      touches: 12_000,
      seed: SEED + scenarioNo,
      dirtyRate: 0.03,
      updateRate: 0.2,
    },
    rate: RATE,
    garbage: 20,
    recoverTimeoutMs: RECOVER_TIMEOUT_MS,
    random,
    basePort: 28400 + 10 * scenarioNo,
    inject,
  });
  results.push(result);
  const problems = problemsOf(result, stateLoss, outage);
  if (problems.length > 0) failures.push({ fault, problems });
  expect(problems).toEqual([]);
}

/** One fault at the middle of the load. */
const once =
  (note: string, fault: (ctx: FaultContext) => Promise<void>, at = 0.5) =>
  async (ctx: FaultContext): Promise<Injection[]> => {
    await until(ctx, at);
    const injection = await ctx.snapshot(note);
    await fault(ctx);
    return [injection];
  };

describe('chaos: two instances under steady load', { timeout: 240_000 }, () => {
  it('baseline (no fault): the checks pass on an undisturbed run', async () => {
    await scenario('none (baseline)', () => Promise.resolve([]));
  });

  it('kill -9 of an instance at random points (4 kills, each restarted; two aimed at a catch-up just after a dead letter)', async () => {
    await scenario('kill -9 instance', async (ctx) => {
      const injections: Injection[] = [];
      const restartLater = async (slot: number): Promise<void> => {
        await sleep(1000 + 1500 * ctx.random());
        ctx.fleet.spawn(slot);
      };
      // Two kills at random points of the load.
      for (const point of [0.1 + 0.35 * ctx.random(), 0.5 + 0.4 * ctx.random()]) {
        await until(ctx, point);
        const injection = await ctx.snapshot('');
        // Both instances in the group first (a restarted one may still be joining), else the
        // failover measured would be that of an instance the group never had.
        for (const joinedBy = Date.now() + 30_000; Date.now() < joinedBy; await sleep(100)) {
          const group = await ctx.group().catch(() => ({ members: -1, state: 'unknown' }));
          if (group.members === 2 && group.state === 'Stable') break;
        }
        const victim = ctx.fleet.killRandom(ctx.random);
        const killedAt = Date.now();
        // Failover: until the coordinator has dropped the dead member and the group is stable
        // again, i.e. its partitions belong to the survivor (polled every 100 ms).
        let moved: number | null = null;
        while (Date.now() - killedAt < 60_000) {
          const group = await ctx.group().catch(() => ({ members: -1, state: 'unknown' }));
          if (group.members === 1 && group.state === 'Stable') {
            moved = Date.now() - killedAt;
            break;
          }
          await sleep(100);
        }
        failovers.push(moved);
        injections.push({
          ...injection,
          note: `kill -9 ${victim.name} at ${(100 * ctx.progress()).toFixed(0)} % of the load (partitions moved after ${moved === null ? 'over 60 s' : `${(moved / 1000).toFixed(1)} s`})`,
        });
        await restartLater(victim.slot);
      }
      // Two aimed at the widest window between a dead letter sent and its offset committed: an
      // instance catching up (large fetches, committed when the whole fetch is done) that has
      // just dead-lettered a record.
      for (let n = 0; n < 2; n += 1) {
        const deadline = Date.now() + 30_000;
        let injection = await ctx.snapshot('');
        while (injection.lag < 500 && Date.now() < deadline) {
          await sleep(100);
          injection = await ctx.snapshot('');
        }
        const victim = await ctx.fleet.killAfterDeadLetter(ctx.random, 10_000);
        injections.push({
          ...injection,
          at: Date.now(),
          note: `kill -9 ${victim.name} in a catch-up, just after a dead letter`,
        });
        await restartLater(victim.slot);
      }
      return injections;
    });
    // Quick recovery within the 10 s target: the 6 s session timeout, then the survivor's next
    // heartbeat, at most a 1 s fetch wait later (FETCH_WAIT_MS in src/service.ts); measured
    // 6.1-6.7 s. With kafkajs's default 5 s fetch wait it was 10.0 s when the survivor was mid-wait.
    expect(
      failovers.every((ms) => ms !== null && ms <= 10_000),
      `failovers: ${failovers.join(', ')} ms`,
    ).toBe(true);
  });

  it('broker restarted (on its data)', async () => {
    await scenario(
      'broker restart',
      once('kafka stop + start', (ctx) => ctx.stack.restartKafka()),
    );
  });

  it('Redis flushed (FLUSHALL): detected, rebuilt from Kafka, exact again', async () => {
    await scenario(
      'redis FLUSHALL',
      once('FLUSHALL', (ctx) => Promise.resolve(ctx.stack.flushRedis())),
      true,
    );
  });

  it('Redis restarted (it keeps nothing on disk): detected, rebuilt from Kafka, exact again', async () => {
    await scenario(
      'redis restart',
      once('redis kill -9 + start', (ctx) => ctx.stack.restartRedis()),
      true,
    );
  });

  it('Postgres restarted (immediate shutdown, crash recovery)', async () => {
    await scenario(
      'postgres restart',
      once('pg_ctl restart -m immediate', (ctx) => ctx.stack.restartPostgres()),
    );
  });

  it(
    'Postgres down for 60 s: attribution pauses (said once), resumes, exact again',
    { timeout: 300_000 },
    async () => {
      await scenario(
        'postgres down 60 s',
        once(
          'pg_ctl stop -m immediate, 60 s down, start',
          async (ctx) => {
            await ctx.stack.stopPostgres('immediate');
            await sleep(60_000);
            await ctx.stack.startPostgres();
          },
          0.3,
        ),
        false,
        'attributing (Postgres answers, publishing to the output topic)',
      );
    },
  );

  it('output topic unwritable for 20 s (max.message.bytes below any answer): attribution pauses, resumes, exact again', async () => {
    await scenario(
      'output topic unwritable 20 s',
      once(
        'output topic max.message.bytes=64 for 20 s',
        async (ctx) => {
          await ctx.setOutputWritable(false);
          await sleep(20_000);
          await ctx.setOutputWritable(true);
        },
        0.3,
      ),
      false,
      'attributing (Postgres answers, publishing to the output topic)',
    );
  });

  it('registry restarted (down 5 s; its schemas persist)', async () => {
    await scenario(
      'registry restart',
      once(
        'registry stop, 5 s down, start',
        async (ctx) => {
          await ctx.stack.stopRegistry();
          await sleep(5000);
          await ctx.stack.startRegistry();
        },
        0.4,
      ),
    );
  });
});
