import avro from 'avsc';

/**
 * Avro `decimal` (bytes, two's-complement big-endian unscaled integer) ↔ bigint nano-units.
 * avsc has no decimal implementation; without one the raw bytes would leak out. Touchline's
 * schemas use scale 9, so the unscaled integer IS the amount in nano-units: no float anywhere.
 */
export class DecimalType extends avro.types.LogicalType {
  private readonly scale: number;

  constructor(schema: avro.Schema, options?: unknown) {
    super(schema, options);
    this.scale = (schema as { scale?: number }).scale ?? 0;
    if (this.scale !== 9) throw new Error(`decimal scale ${this.scale} is not supported (Touchline uses scale 9)`);
  }

  protected override _fromValue(value: Buffer): bigint {
    return bytesToBigInt(value);
  }

  protected override _toValue(value: unknown): Buffer {
    if (typeof value !== 'bigint') throw new TypeError(`decimal value must be a bigint (nano-units), got ${typeof value}`);
    return bigIntToBytes(value);
  }

  protected override _resolve(type: avro.Type): ((value: unknown) => unknown) | undefined {
    if (type instanceof DecimalType && type.scale === this.scale) return (value) => value;
    return undefined;
  }
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  const negative = ((bytes[0] ?? 0) & 0x80) !== 0;
  return negative ? value - (1n << BigInt(bytes.length * 8)) : value;
}

export function bigIntToBytes(value: bigint): Buffer {
  const out: number[] = [];
  let rest = value;
  // Emit bytes until the remaining value is pure sign extension of the last byte written.
  for (;;) {
    const byte = Number(rest & 0xffn);
    out.unshift(byte);
    rest >>= 8n;
    if ((rest === 0n && (byte & 0x80) === 0) || (rest === -1n && (byte & 0x80) !== 0)) break;
  }
  return Buffer.from(out);
}
