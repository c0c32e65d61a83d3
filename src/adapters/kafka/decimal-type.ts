import avro from 'avsc';

/**
 * Avro `decimal` (bytes, two's-complement big-endian unscaled integer) ↔ bigint nano-units.
 * avsc has no decimal implementation; without one the raw bytes would leak out. Touchline's
 * schemas use scale 9 for money, so the unscaled integer IS the amount in nano-units, and scale
 * 12 for FX rates, the unscaled integer being the domain's Rate (domain/fx.ts): no float anywhere.
 */
export class DecimalType extends avro.types.LogicalType {
  private readonly scale: number;

  constructor(schema: avro.Schema, options?: unknown) {
    super(schema, options);
    this.scale = (schema as { scale?: number }).scale ?? 0;
    if (this.scale !== 9 && this.scale !== 12)
      throw new Error(
        `decimal scale ${this.scale} is not supported (Touchline uses scale 9 for money, 12 for rates)`,
      );
  }

  protected override _fromValue(value: Buffer): bigint {
    return bytesToBigInt(value);
  }

  protected override _toValue(value: unknown): Buffer {
    if (typeof value !== 'bigint')
      throw new TypeError(`decimal value must be a bigint (nano-units), got ${typeof value}`);
    return bigIntToBytes(value);
  }

  protected override _resolve(type: avro.Type): ((value: unknown) => unknown) | undefined {
    if (type instanceof DecimalType && type.scale === this.scale) return (value) => value;
    return undefined;
  }
}

/** Two's-complement big-endian bytes → bigint (via hex: one BigInt parse, not one per byte). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  const unsigned = BigInt(
    `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`,
  );
  const negative = ((bytes[0] ?? 0) & 0x80) !== 0;
  return negative ? unsigned - (1n << BigInt(bytes.length * 8)) : unsigned;
}

/** bigint → the shortest two's-complement big-endian bytes that hold it. */
export function bigIntToBytes(value: bigint): Buffer {
  // Bytes needed: enough bits for the magnitude plus a sign bit.
  const magnitude = value < 0n ? -value - 1n : value;
  const bits = magnitude === 0n ? 0 : magnitude.toString(2).length;
  const length = Math.floor(bits / 8) + 1;
  const unsigned = value < 0n ? (1n << BigInt(length * 8)) + value : value;
  return Buffer.from(unsigned.toString(16).padStart(length * 2, '0'), 'hex');
}
