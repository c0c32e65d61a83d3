import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bigIntToBytes, bytesToBigInt } from '../../../src/adapters/kafka/decimal-type.js';

/** Reference two's complement, byte by byte, written apart from the code under test. */
function reference(value: bigint): number[] {
  const out: number[] = [];
  let rest = value;
  for (;;) {
    const byte = Number(BigInt.asUintN(8, rest));
    out.unshift(byte);
    rest >>= 8n;
    if ((rest === 0n && byte < 0x80) || (rest === -1n && byte >= 0x80)) return out;
  }
}

describe('Avro decimal bytes', () => {
  it.each([
    [0n, [0x00]],
    [1n, [0x01]],
    [127n, [0x7f]],
    [128n, [0x00, 0x80]],
    [255n, [0x00, 0xff]],
    [256n, [0x01, 0x00]],
    [-1n, [0xff]],
    [-128n, [0x80]],
    [-129n, [0xff, 0x7f]],
    [-256n, [0xff, 0x00]],
    // 15764.33121 at scale 9 (from the challenge data)
    [15_764_331_210_000n, [0x0e, 0x56, 0x6b, 0x5c, 0xa5, 0x10]], // python: hex(15764331210000) = 0xe566b5ca510
  ])('%s ⇄ %j', (value, bytes) => {
    expect([...bigIntToBytes(value)]).toEqual(bytes);
    expect(bytesToBigInt(Uint8Array.from(bytes))).toBe(value);
  });

  it('matches the byte-by-byte reference and round-trips for any 38-digit value', () => {
    const limit = 10n ** 38n - 1n;
    fc.assert(
      fc.property(fc.bigInt({ min: -limit, max: limit }), (value) => {
        expect([...bigIntToBytes(value)]).toEqual(reference(value));
        expect(bytesToBigInt(bigIntToBytes(value))).toBe(value);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads bytes from a slice of a larger buffer', () => {
    const big = Buffer.from([0xaa, 0xff, 0x7f, 0xbb]);
    expect(bytesToBigInt(big.subarray(1, 3))).toBe(-129n);
  });
});
