import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { rebuildState } from '../state-rebuild.js';
import { parseCommandArgs } from './args.js';
import { preflight } from './preflight.js';
import type { CliIo } from './replay.js';

export const REBUILD_STATE_USAGE = `Usage: touchline rebuild-state

Rebuilds the deployment's Redis state from Kafka now, into a new state generation: re-reads the
compacted contacts and opportunities topics and every retained touch (the touch topic must keep
window + allowed lateness, else it refuses), through the same validation as the service. Running
instances notice their generation is gone within seconds, pause attribution (/readyz 503) and
resume from the new one; nothing is dead-lettered again. The service does the same by itself
when it finds its state lost; this is for a state an operator no longer trusts.
Settings come from the environment, as for "touchline serve". Refuses while another rebuild runs.

Options:
  -h, --help   show this help`;

export async function runRebuildState(
  argv: readonly string[],
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const { values } = parseCommandArgs(argv, {}, REBUILD_STATE_USAGE);
  if (values.help === true) {
    io.stdout(`${REBUILD_STATE_USAGE}\n`);
    return 0;
  }
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    io.stderr(
      `touchline rebuild-state: invalid configuration:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    return 2;
  }
  const config = loaded.config;
  await preflight(config);
  const logger = createLogger(config.LOG_LEVEL, io.stderr);
  const opened = await rebuildState(config, logger);
  const summary = opened.rebuilt;
  io.stdout(
    `state generation ${opened.generation} is ready${summary === null ? '' : `: ${summary.records} records read back in ${summary.durationMs} ms`}\n`,
  );
  return 0;
}
