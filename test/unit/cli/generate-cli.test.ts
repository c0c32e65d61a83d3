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

  it('gives the same tables whichever format is replayed', async () => {
    const dir = tempDir();
    await generate(dir, '11');
    const fromEvents = await replayRows(join(dir, 'events'));
    expect(fromEvents).toEqual(await replayRows(join(dir, 'challenge')));
    expect((fromEvents as unknown[]).length).toBeGreaterThan(20);
  });

  it('refuses a bad rate', async () => {
    await expect(runGenerate(['--out', tempDir(), '--dirty-rate', '2'], captureIo())).rejects.toThrow(
      /--dirty-rate must be between 0 and 1/,
    );
  });
});
