import { loadConfig } from '../config.js';
import { restateAll } from '../state-rebuild.js';
import { parseCommandArgs } from './args.js';
import { preflight } from './preflight.js';
import type { CliIo } from './replay.js';

export const RESTATE_USAGE = `Usage: touchline restate

Marks every live opportunity for re-attribution, so the running instances attribute each one
again with the settings they run with now, publish a new revision of every answer that changes
and move the totals by its exact delta; answers that come out the same are left as they are.

Run it after a channel rules change (CHANNEL_RULES_FILE), once every instance has been
restarted with the new file: touches the rules placed are placed again, and each changed
answer records the new rules version. Settings come from the environment, as for
"touchline serve"; the service instances must be running to do the work.

Options:
  -h, --help   show this help`;

export async function runRestate(
  argv: readonly string[],
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const { values } = parseCommandArgs(argv, {}, RESTATE_USAGE);
  if (values.help === true) {
    io.stdout(`${RESTATE_USAGE}\n`);
    return 0;
  }
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    io.stderr(
      `touchline restate: invalid configuration:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    return 2;
  }
  await preflight(loaded.config);
  const restated = await restateAll(loaded.config);
  io.stdout(
    `marked ${restated.marked} opportunities of state generation ${restated.generation} for re-attribution` +
      `${restated.deleted === 0 ? '' : ` (${restated.deleted} deleted ones left out)`}; the running instances restate them\n`,
  );
  return 0;
}
