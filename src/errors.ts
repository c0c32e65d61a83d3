/**
 * Unexpected failures carry a stable code, whether a retry can help, and their cause.
 * Expected outcomes (a rejected record, an unattributed opportunity) are values, not errors.
 */
export type ErrorCode =
  | 'INPUT_NOT_FOUND'
  | 'INPUT_FORMAT'
  | 'INPUT_MISSING_COLUMN'
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'STORE_UNAVAILABLE'
  | 'BROKER_UNAVAILABLE'
  | 'SCHEMA_REGISTRY'
  /** The Redis state is not the state this instance wrote (flushed, restarted empty, replaced): stop, rebuild. */
  | 'STATE_LOST'
  /** `touchline rebuild-state` while another rebuild is alive. */
  | 'REBUILD_RUNNING'
  | 'INTERNAL';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;

/** Redis no longer holds the generation of state this instance reads and writes. */
export const isStateLost = (error: unknown): error is AppError =>
  isAppError(error) && error.code === 'STATE_LOST';

/**
 * Runs a start-up step; an unexpected failure becomes an AppError naming the step, so the
 * command prints one clear line ("cannot reach Kafka at …") instead of a stack trace.
 */
export async function during<T>(step: string, code: ErrorCode, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isAppError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new AppError(code, `${step}: ${message}`, { retriable: true, cause: error });
  }
}
