#!/usr/bin/env node
/**
 * Composition root: the only place that reads process.argv, the environment and signals,
 * and the only place that decides exit codes.
 */
import { runGenerate } from './cli/generate.js';
import { runReplay, type CliIo } from './cli/replay.js';
import { isAppError } from './errors.js';

const USAGE = `Usage: touchline <command> [options]

Commands:
  replay     attribute a dataset in batch (no services) and print the tables
  generate   write seeded synthetic data in both formats
  help       show this help

Run "touchline <command> --help" for a command's options.`;

const io: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

const commands: Record<string, (argv: readonly string[], io: CliIo) => Promise<number>> = {
  replay: runReplay,
  generate: runGenerate,
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
