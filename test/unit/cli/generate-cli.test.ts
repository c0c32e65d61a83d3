import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGenerate } from '../../../src/cli/generate.js';
import { runReplay } from '../../../src/cli/replay.js';
import { captureIo, tempDir } from '../../support/cli.js';

const generate = async (dir: string, seed: string, extra: string[] = []): Promise<void> => {
  const code = await runGenerate(
    [
      '--out',
      dir,
      '--seed',
      seed,
      '--contacts',
      '300',
      '--opportunities',
      '120',
      '--touches',
      '2500',
      '--dirty-rate',
      '0.03',
      ...extra,
    ],
    captureIo(),
  );
  expect(code).toBe(0);
};
const snapshot = (dir: string): Record<string, string> =>
  Object.fromEntries(
    ['events', 'challenge'].flatMap((sub) =>
      readdirSync(join(dir, sub)).map((file) => [
        `${sub}/${file}`,
        readFileSync(join(dir, sub, file), 'utf8'),
      ]),
    ),
  );
const replayRows = async (dir: string): Promise<unknown> => {
  const out = join(tempDir(), 'out.json');
  expect(await runReplay(['--data', dir, '--format', 'json', '--out', out], captureIo())).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8'));
};

describe('touchline generate', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const [a, b, c] = [tempDir(), tempDir(), tempDir()];
    await generate(a, '7');
    await generate(b, '7');
    await generate(c, '8');
    expect(snapshot(a)).toEqual(snapshot(b));
    expect(snapshot(a)).not.toEqual(snapshot(c));
  });

  it('writes the exact number of touches asked for, in both formats', async () => {
    const dir = tempDir();
    await generate(dir, '3');
    const lines = (file: string): number =>
      readFileSync(join(dir, file), 'utf8')
        .split(/\r?\n/)
        .filter((l) => l !== '').length;
    expect(lines('events/touchpoints.ndjson')).toBe(2500);
    expect(
      lines('challenge/de_hw_marketing_data.csv') - 1 + lines('challenge/de_hw_sales_outreach_data.csv') - 1,
    ).toBe(2500);
    expect(
      readFileSync(join(dir, 'challenge/de_hw_contact_data.csv'), 'utf8').startsWith('\ufeffcontact_id'),
    ).toBe(true);
  });

  // The events format also carries dimensions the CSVs cannot (currencies, UTM-only touches the
  // rules place, campaigns: test/unit/app/generate-dimensions.test.ts shows they only add to the
  // shared rows). What both formats express is compared here: the challenge CSVs, which are the
  // same bytes with or without dimensions, against the events written without them.
  it('gives the same tables whichever format is replayed, on what both formats can express', async () => {
    const [dir, plain] = [tempDir(), tempDir()];
    await generate(dir, '11');
    await generate(plain, '11', ['--no-dimensions']);
    const challenge = (d: string): Record<string, string> =>
      Object.fromEntries(Object.entries(snapshot(d)).filter(([file]) => file.startsWith('challenge/')));
    expect(challenge(dir)).toEqual(challenge(plain));
    const fromEvents = await replayRows(join(plain, 'events'));
    expect(fromEvents).toEqual(await replayRows(join(dir, 'challenge')));
    expect((fromEvents as unknown[]).length).toBeGreaterThan(20);
    // With dimensions, the events replay differs: that is what the dimensions are for.
    expect(await replayRows(join(dir, 'events'))).not.toEqual(fromEvents);
  });

  it('documents the dimensions and --no-dimensions in its help', async () => {
    const io = captureIo();
    expect(await runGenerate(['--help'], io)).toBe(0);
    expect(io.out()).toContain('--no-dimensions');
    expect(io.out()).toContain('fx_rates.csv');
    expect(io.out()).toMatch(/pending_fx/);
    expect(io.out()).toMatch(/Unassigned/);
  });

  it('says how many FX rates it wrote, and none without dimensions', async () => {
    const io = captureIo();
    const args = ['--contacts', '50', '--opportunities', '10', '--touches', '100', '--days', '100'];
    expect(await runGenerate(['--out', tempDir(), ...args], io)).toBe(0);
    expect(io.out()).toMatch(/, \d+ FX rates \(seed 42\)/);
    const plain = captureIo();
    expect(await runGenerate(['--out', tempDir(), ...args, '--no-dimensions'], plain)).toBe(0);
    expect(plain.out()).not.toContain('FX rates');
  });

  it('refuses a bad rate', async () => {
    await expect(runGenerate(['--out', tempDir(), '--dirty-rate', '2'], captureIo())).rejects.toThrow(
      /--dirty-rate must be between 0 and 1/,
    );
  });
});
