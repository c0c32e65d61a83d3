/**
 * The chaos verifier's committed-records filter (scripts/chaos/committed-records.ts): each
 * transactional record takes the fate of its producer's next control record; open transactions
 * are held back; non-transactional records pass; records seen already are skipped.
 */
import { describe, expect, it } from 'vitest';
import { createPartitionReader, type RawRecord } from '../../../scripts/chaos/committed-records.js';

interface R extends RawRecord {
  readonly name: string;
}
const marker = (type: 0 | 1): Buffer => {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type, 2);
  return key;
};
const record = (offset: number, producer: string | null, name: string): R => ({
  offset: String(offset),
  key: null,
  name,
  batchContext: { producerId: producer ?? '-1', inTransaction: producer !== null },
});
const control = (offset: number, producer: string, type: 0 | 1): R => ({
  offset: String(offset),
  key: marker(type),
  isControlRecord: true,
  name: `marker ${type}`,
  batchContext: { producerId: producer, inTransaction: true },
});
const names = (records: readonly R[]): string[] => records.map((r) => r.name);

describe('committed records from a read_uncommitted fetch', () => {
  it('drops a transaction that began first and was aborted last (what kafkajs lets through)', () => {
    const reader = createPartitionReader<R>();
    reader.add([
      record(0, 'P1', 'p1 aborted'),
      record(1, 'P2', 'p2 aborted'),
      control(2, 'P2', 0),
      record(3, 'P2', 'p2 committed'),
      control(4, 'P2', 1),
      control(5, 'P1', 0),
    ]);
    expect(names(reader.committed())).toEqual(['p2 committed']);
    expect(reader.open()).toBe(false);
    expect(reader.reached()).toBe(5);
  });

  it('keeps non-transactional records and committed ones in offset order', () => {
    const reader = createPartitionReader<R>();
    reader.add([
      record(0, 'P1', 'a (committed later)'),
      record(1, null, 'b (plain)'),
      record(2, 'P2', 'c (committed first)'),
      control(3, 'P2', 1),
      control(4, 'P1', 1),
    ]);
    expect(names(reader.committed())).toEqual(['a (committed later)', 'b (plain)', 'c (committed first)']);
  });

  it('holds back an open transaction until its marker comes, across fetches', () => {
    const reader = createPartitionReader<R>();
    reader.add([record(0, 'P1', 'x'), record(1, null, 'y')]);
    expect(reader.open()).toBe(true);
    expect(names(reader.committed())).toEqual(['y']);
    reader.add([record(1, null, 'y'), control(2, 'P1', 1)]); // a fetch that starts inside an earlier batch
    expect(reader.open()).toBe(false);
    expect(names(reader.committed())).toEqual(['x', 'y']);
  });

  it('a producer’s later transactions take their own fates', () => {
    const reader = createPartitionReader<R>();
    reader.add([
      record(0, 'P1', 't1'),
      control(1, 'P1', 1),
      record(2, 'P1', 't2'),
      control(3, 'P1', 0),
      record(4, 'P1', 't3'),
      control(5, 'P1', 1),
    ]);
    expect(names(reader.committed())).toEqual(['t1', 't3']);
  });
});
