import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInstant } from '../../../src/domain/time.js';

/** The fast path for the common shapes must agree with the calendar everywhere. */
describe('parseInstant fast path', () => {
  const instants = fc
    .date({
      min: new Date(Date.UTC(1000, 0, 1)),
      max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
      noInvalidDate: true,
    })
    .map((d) => d.getTime());

  it('reads "YYYY-MM-DDTHH:MM:SS.sssZ" as the instant Date wrote', () => {
    fc.assert(
      fc.property(instants, (ms) => {
        expect(parseInstant(new Date(ms).toISOString())).toBe(ms);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads "YYYY-MM-DDTHH:MM:SSZ" (no millis) as the whole second', () => {
    fc.assert(
      fc.property(instants, (ms) => {
        const text = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
        expect(parseInstant(text)).toBe(Math.floor(ms / 1000) * 1000);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    '2021-02-29T00:00:00Z',
    '2100-02-29T00:00:00Z',
    '2021-04-31T00:00:00Z',
    '2021-13-01T00:00:00Z',
    '2021-01-01T24:00:00Z',
    '2021-01-01T00:60:00Z',
    '2021-01-01T00:00:60.000Z',
    '2021-00-10T00:00:00Z',
    '2021-01-00T00:00:00Z',
  ])('refuses the impossible %s', (text) => expect(parseInstant(text)).toBeNull());

  it('accepts Feb 29 of leap years', () => {
    expect(parseInstant('2024-02-29T12:00:00Z')).toBe(Date.UTC(2024, 1, 29, 12));
    expect(parseInstant('2000-02-29T12:00:00.250Z')).toBe(Date.UTC(2000, 1, 29, 12, 0, 0, 250));
  });
});
