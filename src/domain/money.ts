/**
 * Exact money. Amounts are bigint nano-units (10^-9): the input data carries up to 9 decimals,
 * so every input amount is represented exactly and no floating point ever touches money.
 */
export type Nanos = bigint;

export const NANOS_PER_UNIT = 1_000_000_000n;
const NANOS_PER_CENT = 10_000_000n;
const DECIMAL = /^(\d+)(?:\.(\d{1,9}))?$/;

export type ParsedAmount =
  { kind: 'ok'; nanos: Nanos } | { kind: 'negative' } | { kind: 'invalid'; detail: string };

/** Digits an amount may have before the decimal point: decimal(38, 9), as in Avro and Postgres. */
export const MAX_WHOLE_DIGITS = 29;

/** Parses a plain decimal string ("15764.33121", "12", "0.000000001"). No exponents, no signs but '-'. */
export function parseAmount(text: string): ParsedAmount {
  const trimmed = text.trim();
  // One sign at most, stripped without recursion: "-----…1" is not a decimal, and no stack risk.
  const negative = trimmed.startsWith('-');
  const magnitude = negative ? trimmed.slice(1) : trimmed;
  const match = DECIMAL.exec(magnitude);
  if (match === null) {
    const tooPrecise = /^\d+\.\d{10,}$/.test(magnitude);
    return { kind: 'invalid', detail: tooPrecise ? 'more than 9 decimal places' : 'not a decimal number' };
  }
  const wholeText = match[1] ?? '0';
  const fractionText = match[2] ?? '';
  const firstSignificant = wholeText.search(/[1-9]/);
  // "-0" is zero, not a negative amount.
  if (negative)
    return firstSignificant === -1 && !/[1-9]/.test(fractionText)
      ? { kind: 'ok', nanos: 0n }
      : { kind: 'negative' };
  // Counted before any BigInt is made: a megabyte of digits is refused, not parsed.
  if (firstSignificant !== -1 && wholeText.length - firstSignificant > MAX_WHOLE_DIGITS) {
    return {
      kind: 'invalid',
      detail: `more than ${MAX_WHOLE_DIGITS} digits before the decimal point (the most decimal(38,9) holds)`,
    };
  }
  const nanos = BigInt(wholeText) * NANOS_PER_UNIT + BigInt(fractionText.padEnd(9, '0'));
  return { kind: 'ok', nanos };
}

/** Exact decimal string with up to 9 decimals, trailing zeros dropped ("12.5", "3"). */
export function formatNanos(nanos: Nanos): string {
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  const whole = abs / NANOS_PER_UNIT;
  const fraction = (abs % NANOS_PER_UNIT).toString().padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/** Rounds to whole cents, half to even (banker's rounding), and formats with exactly 2 decimals. */
export function formatCents(nanos: Nanos): string {
  const negative = nanos < 0n;
  const abs = negative ? -nanos : nanos;
  let cents = abs / NANOS_PER_CENT;
  const remainder = abs % NANOS_PER_CENT;
  const half = NANOS_PER_CENT / 2n;
  if (remainder > half || (remainder === half && cents % 2n === 1n)) cents += 1n;
  const text = `${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`;
  return negative && cents !== 0n ? `-${text}` : text;
}

/**
 * Splits `amount` in proportion to `weights` so that the parts sum to `amount` exactly:
 * every part gets the floor of its exact share, and the nano-units left over go one each to the
 * parts with the largest remainders (ties: lower index first, i.e. the earlier touch).
 */
export function splitByWeights(amount: Nanos, weights: readonly bigint[]): Nanos[] {
  const n = weights.length;
  if (n === 0) return [];
  let total = 0n;
  for (let i = 0; i < n; i += 1) total += weights[i] as bigint;
  if (total <= 0n) throw new RangeError('splitByWeights: weights must sum to a positive number');
  const parts: Nanos[] = new Array<Nanos>(n);
  const remainders: bigint[] = new Array<bigint>(n);
  let assigned = 0n;
  for (let i = 0; i < n; i += 1) {
    const exact = amount * (weights[i] as bigint);
    const part = exact / total;
    parts[i] = part;
    remainders[i] = exact - part * total;
    assigned += part;
  }
  // Fewer than n nano-units are left; they go to the largest remainders, ties to the lower index.
  const leftover = Number(amount - assigned);
  if (leftover > 0) {
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => {
      const ra = remainders[a] as bigint;
      const rb = remainders[b] as bigint;
      return ra === rb ? a - b : ra > rb ? -1 : 1;
    });
    for (let k = 0; k < leftover; k += 1) {
      const index = order[k] as number;
      parts[index] = (parts[index] as Nanos) + 1n;
    }
  }
  return parts;
}
