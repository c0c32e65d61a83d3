import type { RejectReason, Rejection } from '../domain/validate.js';

/** Where a record came from: a file and line in batch, a topic/partition/offset in streaming. */
export interface RecordOrigin {
  readonly source: string;
  readonly location: string;
}

/**
 * A file and line whose "file:line" text is made only when asked for: replay keeps the origin
 * of every stored record (to charge a later rejection to it), so it must stay small.
 */
export class FileLine implements RecordOrigin {
  constructor(
    readonly source: string,
    readonly line: number,
  ) {}

  get location(): string {
    return `${this.source}:${this.line}`;
  }
}

export interface SourceQuality {
  source: string;
  read: number;
  accepted: number;
  duplicates: number;
  stale: number;
  rejected: Partial<Record<RejectReason, number>>;
}

export interface QualityExample extends Rejection {
  readonly source: string;
  readonly location: string;
}

/**
 * Records that were accepted and count, but that a reader must know about (stable codes, as
 * metric labels): a touch no channel rule placed (credited to Unassigned), an opportunity in a
 * foreign currency without a usable rate (counted, credited nowhere until its rate arrives).
 */
export const NOTICES = ['unmapped_channel', 'pending_fx'] as const;
export type Notice = (typeof NOTICES)[number];

export interface NoticeExample {
  readonly notice: Notice;
  readonly source: string;
  readonly location: string;
  readonly detail: string;
}

export interface QualityReport {
  readonly sources: SourceQuality[];
  readonly totals: { read: number; accepted: number; duplicates: number; stale: number; rejected: number };
  readonly rejectedByReason: Partial<Record<RejectReason, number>>;
  /** Up to a few examples per reason, with file and line, so a reader can go and look. */
  readonly examples: QualityExample[];
  /** Accepted records to know about, by notice; absent when there are none. */
  readonly notices?: Partial<Record<Notice, number>>;
  readonly noticeExamples?: NoticeExample[];
}

const EXAMPLES_PER_REASON = 5;

/** Counts what happened to every record read; nothing read leaves without a count. */
export function createQualityTracker() {
  const sources = new Map<string, SourceQuality>();
  const examples: QualityExample[] = [];
  const examplesByReason = new Map<RejectReason, number>();
  const notices: Partial<Record<Notice, number>> = {};
  const noticeExamples: NoticeExample[] = [];
  const of = (source: string): SourceQuality => {
    let entry = sources.get(source);
    if (entry === undefined) {
      entry = { source, read: 0, accepted: 0, duplicates: 0, stale: 0, rejected: {} };
      sources.set(source, entry);
    }
    return entry;
  };
  return {
    read(source: string): void {
      of(source).read += 1;
    },
    accepted(source: string, count = 1): void {
      of(source).accepted += count;
    },
    duplicate(source: string): void {
      of(source).duplicates += 1;
    },
    stale(source: string): void {
      of(source).stale += 1;
    },
    /** A record already counted as accepted turned out bad (e.g. a touch whose contact never came). */
    unaccept(source: string, count: number): void {
      of(source).accepted -= count;
    },
    rejected(origin: RecordOrigin, rejection: Rejection, count = 1): void {
      const entry = of(origin.source);
      entry.rejected[rejection.reason] = (entry.rejected[rejection.reason] ?? 0) + count;
      const shown = examplesByReason.get(rejection.reason) ?? 0;
      if (shown < EXAMPLES_PER_REASON) {
        examplesByReason.set(rejection.reason, shown + 1);
        examples.push({ ...rejection, source: origin.source, location: origin.location });
      }
    },
    /** An accepted record a reader must know about (see NOTICES); it stays accepted. */
    notice(origin: RecordOrigin, notice: Notice, detail: string): void {
      const count = notices[notice] ?? 0;
      notices[notice] = count + 1;
      if (count < EXAMPLES_PER_REASON)
        noticeExamples.push({ notice, source: origin.source, location: origin.location, detail });
    },
    report(): QualityReport {
      const list = [...sources.values()];
      const rejectedByReason: Partial<Record<RejectReason, number>> = {};
      let rejected = 0;
      for (const entry of list) {
        for (const [reason, count] of Object.entries(entry.rejected) as [RejectReason, number][]) {
          rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + count;
          rejected += count;
        }
      }
      const sum = (pick: (s: SourceQuality) => number): number =>
        list.reduce((total, s) => total + pick(s), 0);
      return {
        sources: list,
        totals: {
          read: sum((s) => s.read),
          accepted: sum((s) => s.accepted),
          duplicates: sum((s) => s.duplicates),
          stale: sum((s) => s.stale),
          rejected,
        },
        rejectedByReason,
        examples,
        ...(noticeExamples.length === 0 ? {} : { notices, noticeExamples }),
      };
    },
  };
}

export type QualityTracker = ReturnType<typeof createQualityTracker>;
