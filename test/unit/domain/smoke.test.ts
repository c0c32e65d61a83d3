import { describe, expect, it } from 'vitest';
import { formatCents } from '../../../src/domain/money.js';

describe('formatCents', () => {
  it('rounds half to even', () => {
    expect(formatCents(5_000_000n)).toBe('0.00');
    expect(formatCents(15_000_000n)).toBe('0.02');
  });
});
