import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { startService, type RunningService } from '../service.js';
import { parseCommandArgs } from './args.js';
import { describeStartFailure, holdClientLinesDuringStart, preflight } from './preflight.js';
import type { CliIo } from './replay.js';

export const SERVE_USAGE = `Usage: touchline serve

Runs the streaming attribution service. All settings come from the environment
(see README "Configuration"); the required ones are KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
REDIS_URL and DATABASE_URL. Every problem with the settings is listed before anything
connects. SIGTERM or SIGINT drains the batch in flight and exits; a second signal forces exit.

Options:
  -h, --help   show this help`;

export interface ServeHooks {
  /** Called once the service runs; resolves when it should stop (the composition root wires signals). */
  readonly untilStopped: (service: RunningService) => Promise<void>;
}

export async function runServe(
  argv: readonly string[],
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
  hooks: ServeHooks,
): Promise<number> {
  const { values } = parseCommandArgs(argv, {}, SERVE_USAGE);
  if (values.help === true) {
    io.stdout(`${SERVE_USAGE}\n`);
    return 0;
  }
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    io.stderr(
      `touchline serve: invalid configuration:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    return 2;
  }
  const config = loaded.config;
  // A refused login or an untrusted certificate ends the start with one line (main prints it).
  await preflight(config);
  const log = holdClientLinesDuringStart(createLogger(config.LOG_LEVEL, io.stderr));
  let service: RunningService;
  try {
    service = await startService(config, log.log);
  } catch (error) {
    log.failed();
    throw describeStartFailure(error, config);
  }
  log.started();
  await hooks.untilStopped(service);
  return 0;
}
