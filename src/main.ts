#!/usr/bin/env node
/**
 * Composition root: the only place that reads process.argv, the environment and signals,
 * and the only place that decides exit codes.
 */
import { runGenerate } from './cli/generate.js';
import { runMigrate } from './cli/migrate.js';
import { runProduce } from './cli/produce.js';
import { runRebuildState } from './cli/rebuild-state.js';
import { runRestate } from './cli/restate.js';
import { runReplay, type CliIo } from './cli/replay.js';
import { runServe } from './cli/serve.js';
import { isAppError } from './errors.js';
import type { RunningService } from './service.js';

const USAGE = `Usage: touchline <command> [options]

Commands:
  replay     attribute a dataset in batch (no services) and print the tables
  generate   write seeded synthetic data in both formats
  serve      run the streaming service (Kafka in, Redis state, Postgres and Kafka out)
  produce    publish a dataset to the input topics, in event-time order
  migrate    apply the Postgres migrations and exit
  rebuild-state
             rebuild the Redis state from Kafka now (running instances pause, then resume)
  restate    re-attribute every opportunity with the running settings (after a rules change)
  help       show this help

Run "touchline <command> --help" for a command's options.`;

const io: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * First SIGTERM/SIGINT: drain the batch in flight and close in order, within the shutdown
 * timeout. Second signal: exit at once.
 */
function untilStopped(service: RunningService): Promise<void> {
  const timeoutMs = Number(process.env['SHUTDOWN_TIMEOUT_MS'] ?? 25_000);
  return new Promise((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals += 1;
      if (signals > 1) {
        io.stderr(`touchline: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      io.stderr(`touchline: ${signal}, draining and shutting down (send again to force)\n`);
      const force = setTimeout(() => {
        io.stderr(`touchline: shutdown took over ${timeoutMs} ms, exiting\n`);
        process.exit(1);
      }, timeoutMs);
      force.unref();
      service.stop().then(resolve, (error: unknown) => {
        io.stderr(`touchline: shutdown failed: ${(error as Error).message}\n`);
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

const commands: Record<string, (argv: readonly string[], io: CliIo) => Promise<number>> = {
  replay: runReplay,
  generate: runGenerate,
  produce: (argv, cli) => runProduce(argv, cli, process.env),
  serve: (argv, cli) => runServe(argv, cli, process.env, { untilStopped }),
  migrate: (argv, cli) => runMigrate(argv, cli, process.env),
  'rebuild-state': (argv, cli) => runRebuildState(argv, cli, process.env),
  restate: (argv, cli) => runRestate(argv, cli, process.env),
};

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.stdout(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const run = commands[command];
  if (run === undefined) {
    io.stderr(`touchline: unknown command "${command}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await run(rest, io);
  } catch (error) {
    if (isAppError(error)) {
      io.stderr(`touchline ${command}: ${error.message}\n`);
      return error.code === 'USAGE' ? 2 : 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
