import { AppError, isAppError } from '../errors.js';
import type { StateGeneration, StateGenerations } from './ports.js';

export interface RebuildSummary {
  /** Input records read back from Kafka. */
  readonly records: number;
  readonly durationMs: number;
}

export interface RecoveryDeps {
  readonly generations: StateGenerations;
  /** Names this instance in the generation record (host and pid). */
  readonly owner: string;
  readonly newId: () => string;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Whether the consumer group has committed progress on the inputs. With no generation in
   * Redis, that tells a first start (nothing read yet: start empty) from a lost state (offsets
   * committed for records whose state is gone: rebuild).
   */
  readonly hasCommittedInput: () => Promise<boolean>;
  /**
   * Reads every input back from Kafka, up to the ends it has when called, into the empty
   * generation `id`; calls `heartbeat` as it goes (which throws once another instance has taken
   * the rebuild over).
   */
  readonly rebuild: (id: string, heartbeat: () => Promise<void>) => Promise<{ readonly records: number }>;
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** A rebuilding generation whose heartbeat is older than this is abandoned: another takes over. */
  readonly staleAfterMs: number;
  /** How often to look again while another instance rebuilds. */
  readonly pollMs: number;
  /** Told when this instance starts waiting for a rebuild or running one (a gauge, /readyz). */
  readonly onRebuilding?: () => void;
}

export interface OpenedState {
  readonly generation: string;
  /** Set when this instance rebuilt it. */
  readonly rebuilt: RebuildSummary | null;
}

/**
 * The generation of state to read and write, once it is ready:
 * - one that is ready (and is not the one that was `lost`) is used as it is;
 * - none at all on a first start (no committed input) starts an empty one;
 * - none, with input already committed, means Redis lost the state: rebuild from Kafka;
 * - one being rebuilt by another instance is waited for, and taken over once its heartbeat
 *   is stale (that instance died mid-rebuild).
 * Compare-and-set on the generation record makes concurrent instances start one rebuild.
 */
export async function openState(deps: RecoveryDeps, lost: string | null = null): Promise<OpenedState> {
  let gone = lost;
  let waitingLogged = false;
  for (let attempt = 0; ; attempt += 1) {
    const current = await deps.generations.current();
    if (current !== null && current.id !== gone) {
      if (current.status === 'ready') return { generation: current.id, rebuilt: null };
      if (deps.clock() - current.heartbeatAt <= deps.staleAfterMs) {
        if (!waitingLogged)
          deps.log(
            'info',
            `state generation ${current.id} is being rebuilt by ${current.owner}; waiting for it`,
          );
        waitingLogged = true;
        deps.onRebuilding?.();
        await deps.sleep(deps.pollMs);
        continue;
      }
      deps.log(
        'warn',
        `the rebuild of state generation ${current.id} by ${current.owner} stopped (no heartbeat for ${deps.clock() - current.heartbeatAt} ms); taking it over`,
      );
    } else if (current === null && gone === null && !(await deps.hasCommittedInput())) {
      const id = deps.newId();
      if (
        await deps.generations.replace(null, {
          id,
          status: 'ready',
          owner: deps.owner,
          heartbeatAt: deps.clock(),
        })
      ) {
        deps.log('info', `started state generation ${id} (first start: no input read yet)`);
        return { generation: id, rebuilt: null };
      }
      continue;
    }
    const rebuilt = await rebuildInto(deps, current);
    if (rebuilt.kind === 'done') return { generation: rebuilt.id, rebuilt: rebuilt.summary };
    if (rebuilt.kind === 'failed') {
      gone = rebuilt.id;
      await deps.sleep(Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5)));
    }
  }
}

/**
 * Rebuilds now, whatever the current generation is (`touchline rebuild-state`): running
 * instances notice that their generation is gone, wait for this one and resume from it.
 * Refuses while another rebuild is alive.
 */
export async function rebuildNow(deps: RecoveryDeps): Promise<OpenedState> {
  const current = await deps.generations.current();
  if (
    current !== null &&
    current.status === 'rebuilding' &&
    deps.clock() - current.heartbeatAt <= deps.staleAfterMs
  )
    return Promise.reject(
      new AppError(
        'CONFIG_INVALID',
        `a rebuild of state generation ${current.id} by ${current.owner} is running; wait for it to finish`,
      ),
    );
  const rebuilt = await rebuildInto(deps, current);
  if (rebuilt.kind === 'done') return { generation: rebuilt.id, rebuilt: rebuilt.summary };
  if (rebuilt.kind === 'failed')
    throw isAppError(rebuilt.error)
      ? rebuilt.error
      : new AppError('INTERNAL', `rebuilding the state failed: ${rebuilt.error.message}`, {
          cause: rebuilt.error,
        });
  throw new AppError(
    'REBUILD_RUNNING',
    'another instance began a rebuild at the same moment; it will finish it',
  );
}

type Rebuilt =
  | { kind: 'done'; id: string; summary: RebuildSummary }
  | { kind: 'raced' }
  | { kind: 'failed'; id: string; error: Error };

async function rebuildInto(deps: RecoveryDeps, replacing: StateGeneration | null): Promise<Rebuilt> {
  const id = deps.newId();
  const started = deps.clock();
  if (
    !(await deps.generations.replace(replacing?.id ?? null, {
      id,
      status: 'rebuilding',
      owner: deps.owner,
      heartbeatAt: started,
    }))
  )
    return { kind: 'raced' };
  deps.log(
    'info',
    `rebuilding the state from Kafka into generation ${id}${replacing === null ? '' : ` (replacing ${replacing.id})`}`,
  );
  let lastBeat = started;
  const heartbeat = async (): Promise<void> => {
    const now = deps.clock();
    if (now - lastBeat < deps.staleAfterMs / 6) return;
    lastBeat = now;
    if (!(await deps.generations.heartbeat(id, now)))
      throw new Error(`state generation ${id} was replaced during its rebuild`);
  };
  try {
    deps.onRebuilding?.();
    const { records } = await deps.rebuild(id, heartbeat);
    if (!(await deps.generations.ready(id, deps.clock())))
      throw new Error(`state generation ${id} was replaced during its rebuild`);
    const summary = { records, durationMs: deps.clock() - started };
    const discarded = await deps.generations.discardOthers(id).catch((error: unknown) => {
      deps.log('warn', `discarding the keys of older state generations: ${(error as Error).message}`);
      return 0;
    });
    deps.log(
      'info',
      `state rebuilt into generation ${id}: ${records} records read back in ${summary.durationMs} ms; ${discarded} old keys discarded`,
    );
    return { kind: 'done', id, summary };
  } catch (error) {
    const known = error instanceof Error ? error : new Error(String(error));
    deps.log('error', `rebuilding the state into generation ${id} failed: ${known.message}`);
    return { kind: 'failed', id, error: known };
  }
}
