import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseModelsFile, readModelsFile } from '../../../src/adapters/files/models-file.js';
import { customModelsFrom } from '../../../src/domain/models/custom-models.js';
import type { PositionModel } from '../../../src/domain/models/position.js';
import { AppError } from '../../../src/errors.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', '..', 'config', 'models.example.yaml');
const BUILT_IN = ['first_touch', 'last_touch', 'linear', 'u_shaped', 'time_decay', 'w_shaped', 'full_path'];
const scratch = mkdtempSync(join(tmpdir(), 'touchline-models-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const ALLOWED_ROLES = 'first, lead_creation, opportunity_creation, closed_won, middle';
const NOT_A_PERCENTAGE = 'is not a percentage (a non-negative decimal with at most 6 decimal places)';

/** The problem lines of the error, without the first line that names the file. */
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('CONFIG_INVALID');
    return (error as Error).message
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
  }
  throw new Error('expected the models to be refused');
}

describe('the example config/models.example.yaml', () => {
  it('declares two custom models with their shares, in millionths of a percent', () => {
    const models = readModelsFile(EXAMPLE, BUILT_IN) as PositionModel[];
    expect(models.map((m) => [m.name, m.candidates, m.weights])).toEqual([
      [
        'lead_heavy',
        'window',
        {
          first: 20_000_000n,
          lead_creation: 50_000_000n,
          opportunity_creation: 20_000_000n,
          closed_won: 0n,
          middle: 10_000_000n,
        },
      ],
      [
        'close_focused',
        'through_close',
        {
          first: 10_000_000n,
          lead_creation: 0n,
          opportunity_creation: 30_000_000n,
          closed_won: 50_000_000n,
          middle: 10_000_000n,
        },
      ],
    ]);
  });
});

describe('customModelsFrom', () => {
  it('reads numbers and decimal text with up to 6 decimals', () => {
    const result = customModelsFrom(
      {
        models: [
          {
            name: 'thirds',
            weights: { first: '33.333333', opportunity_creation: 33.333333, middle: '33.333334' },
          },
          { name: 'only_middle', weights: { middle: 100 } },
        ],
      },
      BUILT_IN,
    );
    expect(result.ok).toBe(true);
    const models = (result.ok ? result.models : []) as PositionModel[];
    expect(
      models.map((m) => [m.name, m.weights.first, m.weights.opportunity_creation, m.weights.middle]),
    ).toEqual([
      ['thirds', 33_333_333n, 33_333_333n, 33_333_334n],
      ['only_middle', 0n, 0n, 100_000_000n],
    ]);
  });

  it('accepts an empty list of models', () => {
    expect(customModelsFrom({ models: [] }, BUILT_IN)).toEqual({ ok: true, models: [] });
  });

  it('lists every problem, each with where it is, in declaration order', () => {
    const result = customModelsFrom(
      {
        models: [
          { name: 'fine', weights: { first: 50, opportunity_creation: 50 } },
          { name: 'short', weights: { first: 49.5, middle: 50 } },
          { name: 'Lead-Heavy', weights: { first: 50, lead: 40, middle: 10 } },
          { name: 'linear', weights: { first: -1, middle: '1.1234567', closed_won: null } },
          { name: 'fine', weights: { first: 100 }, weight: 1 },
          { weights: 'all of it' },
          'w_shaped',
        ],
        owner: 'marketing',
      },
      BUILT_IN,
    );
    expect(result).toEqual({
      ok: false,
      problems: [
        '(top level): unknown key "owner" (allowed: models)',
        'models[1].weights: sum is 99.5 %, must be exactly 100 %',
        'models[2].name: "Lead-Heavy" is not a model name (a lowercase letter, then up to 62 lowercase letters, digits or _)',
        `models[2].weights: unknown role "lead" (allowed: ${ALLOWED_ROLES})`,
        'models[2].weights: sum is 60 %, must be exactly 100 %',
        'models[3].name: "linear" is the name of a built-in model',
        `models[3].weights.first: -1 ${NOT_A_PERCENTAGE}`,
        `models[3].weights.closed_won: null ${NOT_A_PERCENTAGE}`,
        `models[3].weights.middle: "1.1234567" ${NOT_A_PERCENTAGE}`,
        'models[4]: unknown key "weight" (allowed: name, weights)',
        'models[4].name: is also the name of models[0]',
        'models[5].name: is required',
        'models[5].weights: Invalid input: expected object, received string',
        'models[6]: Invalid input: expected object, received string',
      ],
    });
  });

  it.each<[string, string]>([
    ['a', 'one letter'],
    ['a'.repeat(63), '63 characters'],
    ['lead_heavy_2', 'digits and _'],
  ])('accepts the name %j (%s)', (name) => {
    expect(customModelsFrom({ models: [{ name, weights: { first: 100 } }] }, BUILT_IN).ok).toBe(true);
  });

  it.each<[string, string]>([
    ['a'.repeat(64), '64 characters'],
    ['2nd', 'a leading digit'],
    ['_x', 'a leading _'],
    ['', 'empty'],
    ['lead heavy', 'a space'],
  ])('refuses the name %j (%s)', (name) => {
    const result = customModelsFrom({ models: [{ name, weights: { first: 100 } }] }, BUILT_IN);
    expect(result.ok ? [] : result.problems).toEqual([
      `models[0].name: ${JSON.stringify(name)} is not a model name (a lowercase letter, then up to 62 lowercase letters, digits or _)`,
    ]);
  });
});

describe('parseModelsFile', () => {
  it('starts its message by naming the file', () => {
    expect(() =>
      parseModelsFile('models:\n  - name: x\n    weights: { first: 90 }\n', 'x/m.yaml', BUILT_IN),
    ).toThrow(/^models file x\/m\.yaml:\n {2}models\[0\]\.weights: sum is 90 %, must be exactly 100 %$/);
  });

  it.each<[string, string, string[]]>([
    ['an empty file', '', ['models: is required']],
    ['a list at the top', '- a', ['(top level): Invalid input: expected object, received array']],
    ['models not a list', 'models: { a: 1 }', ['models: Invalid input: expected array, received object']],
    [
      'a weight with too many decimals',
      'models:\n  - name: x\n    weights: { first: 99.9999999, middle: 0.0000001 }\n',
      [
        `models[0].weights.first: 99.9999999 ${NOT_A_PERCENTAGE}`,
        `models[0].weights.middle: 1e-7 ${NOT_A_PERCENTAGE}`,
      ],
    ],
  ])('refuses %s', (_label, text, expected) => {
    expect(problemsOf(() => parseModelsFile(text, 'f.yaml', BUILT_IN))).toEqual(expected);
  });

  it('names the file and the line of a YAML syntax error', () => {
    const text = 'models:\n  - name: x\n    weights: { first: [100 }\n';
    expect(() => parseModelsFile(text, 'broken.yaml', BUILT_IN)).toThrow(
      /^models file broken\.yaml: not valid YAML: .*at line 3, column \d+/,
    );
  });
});

describe('readModelsFile', () => {
  it('names the path of a missing file', () => {
    const path = join(scratch, 'absent.yaml');
    expect(() => readModelsFile(path, BUILT_IN)).toThrow(
      `models file ${path}: cannot be read (file not found)`,
    );
    expect(problemsOf(() => readModelsFile(path, BUILT_IN))).toEqual([]);
  });

  it('reads a file from disk and names it with every problem', () => {
    const path = join(scratch, 'models.yaml');
    writeFileSync(path, 'models:\n  - name: half\n    weights: { first: "50", middle: "50.0" }\n');
    expect(readModelsFile(path, BUILT_IN).map((m) => m.name)).toEqual(['half']);
    writeFileSync(
      path,
      'models:\n  - name: full_path\n    weights: { first: 50 }\n  - name: b\n    weights: { firts: 100 }\n',
    );
    let message = '';
    try {
      readModelsFile(path, BUILT_IN);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      [
        `models file ${path}:`,
        '  models[0].name: "full_path" is the name of a built-in model',
        '  models[0].weights: sum is 50 %, must be exactly 100 %',
        `  models[1].weights: unknown role "firts" (allowed: ${ALLOWED_ROLES})`,
        '  models[1].weights: sum is 0 %, must be exactly 100 %',
      ].join('\n'),
    );
  });
});
