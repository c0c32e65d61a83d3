/**
 * read_committed done right, from a read_uncommitted fetch.
 *
 * kafkajs 2.2.4's read_committed filter (src/consumer/filterAbortedMessages.js) walks the
 * aborted-transactions list of a fetch response in the order the broker gives it and takes at
 * most one entry per record. The broker lists aborted transactions in the order they were
 * *aborted*, not by their first offset (apache/kafka#2840, review of Fetcher.java: "the entries
 * in the abort index are sorted by abort order, but not necessarily first offset order … need to
 * sort them on the client"). So when a transaction that began first is aborted last — a killed
 * instance's open transaction, aborted by the coordinator's timeout after other transactions were
 * aborted — kafkajs hands its records to the application as if committed. Measured here: P1
 * sends, P2 sends and aborts, P1 aborts → a kafkajs read_committed consumer returns P1's record
 * (test/integration/committed-records.test.ts). The chaos suite's DLQ check counted exactly such
 * records as "dead-lettered more than once".
 *
 * This reads every record (read_uncommitted) and gives each transactional record the fate of its
 * producer's next control record (a producer has at most one open transaction at a time, and its
 * markers follow its records on every partition it wrote): commit keeps it, abort drops it, and
 * records of a transaction still open are held back until its marker comes.
 */

/** What this needs of a kafkajs raw message (Batch.rawMessages also holds control records). */
export interface RawRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly isControlRecord?: boolean;
  readonly batchContext?: { readonly producerId: string; readonly inTransaction: boolean };
}

/** Control record key: version int16, type int16 (0 = abort, 1 = commit). */
const isCommitMarker = (key: Buffer | null): boolean =>
  key !== null && key.length >= 4 && key.readInt16BE(2) === 1;

export interface PartitionReader<T extends RawRecord> {
  /** Takes the next raw records of the partition (any that were seen already are skipped). */
  add(records: readonly T[]): void;
  /** Committed and non-transactional records so far, in offset order. */
  committed(): T[];
  /** Whether a transaction seen is still open (its records neither committed nor aborted yet). */
  open(): boolean;
  /** The highest offset seen, control records included (-1: none). */
  reached(): number;
}

export function createPartitionReader<T extends RawRecord>(): PartitionReader<T> {
  const pending = new Map<string, T[]>();
  const kept: T[] = [];
  let last = -1;
  return {
    add(records) {
      for (const record of records) {
        const offset = Number(record.offset);
        if (offset <= last) continue; // a fetch may start inside an earlier record batch
        last = offset;
        const context = record.batchContext;
        if (record.isControlRecord === true) {
          const producer = context?.producerId ?? '';
          const held = pending.get(producer) ?? [];
          pending.delete(producer);
          if (isCommitMarker(record.key)) kept.push(...held);
          continue;
        }
        if (context?.inTransaction === true) {
          const held = pending.get(context.producerId) ?? [];
          held.push(record);
          pending.set(context.producerId, held);
        } else kept.push(record);
      }
    },
    committed: () => kept.slice().sort((a, b) => Number(a.offset) - Number(b.offset)),
    open: () => pending.size > 0,
    reached: () => last,
  };
}
