// The commands the deployments start (k8s containers, Compose services) must be commands the
// CLI knows: each is run with --help through the project's own entry point.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCompose } from './compose.js';
import { isRecord, rel, runTool } from './files.js';
import { manifestFiles } from './k8s.js';

/** Touchline CLI commands named by the manifests and the Compose file, with where each comes from. */
export function deployedCommands(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (command: string, where: string) => found.set(command, [...(found.get(command) ?? []), where]);
  for (const m of manifestFiles()) {
    const spec = (
      m.doc['spec'] as
        { template?: { spec?: { containers?: { command?: string[]; args?: string[] }[] } } } | undefined
    )?.template?.spec;
    for (const container of spec?.containers ?? []) {
      // With no command, the image's ENTRYPOINT (node dist/src/main.js) receives the args.
      const argv =
        container.command === undefined
          ? (container.args ?? [])
          : ([...container.command, ...(container.args ?? [])].join(' ').split('main.js ')[1]?.split(' ') ??
            []);
      if (argv[0] !== undefined) add(argv[0], m.where);
    }
  }
  const services = loadCompose()['services'];
  for (const [name, service] of Object.entries(isRecord(services) ? services : {})) {
    const text = JSON.stringify(isRecord(service) ? (service['command'] ?? '') : '');
    const direct = /^\["(\w+)"/.exec(text)?.[1];
    if (direct !== undefined) add(direct, `${rel('docker-compose.yml')} ${name}`);
    for (const match of text.matchAll(/main\.js (\w+)/g))
      if (match[1] !== undefined) add(match[1], `docker-compose.yml ${name}`);
  }
  return found;
}

/** Problems: commands that `touchline <command> --help` does not know. */
export function checkDeployedCommands(): string[] {
  return [...deployedCommands()].flatMap(([command, where]) => {
    const run = runTool(process.execPath, ['--import', 'tsx', 'src/main.ts', command, '--help']);
    return run.ok ? [] : [`${where.join(', ')}: "touchline ${command} --help" failed:\n${run.output.trim()}`];
  });
}

/**
 * The Compose demo-data command, run for real where it can be: `generate` writes its data to a
 * temporary directory; `produce` (which needs Kafka) must get past its options to the broker check.
 */
export function checkDemoDataCommand(): string[] {
  const service = (loadCompose()['services'] as Record<string, { command?: string[] }> | undefined)?.[
    'demo-data'
  ];
  const script = service?.command?.at(-1);
  if (script === undefined) return ['docker-compose.yml: no demo-data command'];
  const dir = mkdtempSync(join(tmpdir(), 'touchline-demo-'));
  try {
    return script.split('&&').flatMap((part) => {
      const argv = part.trim().replaceAll('/tmp/demo', dir).split(/\s+/);
      if (argv[0] !== 'node' || argv[1] !== 'dist/src/main.js')
        return [`demo-data: unexpected step "${part.trim()}"`];
      const command = argv[2];
      const env = { PATH: process.env['PATH'] ?? '' };
      const run = runTool('env', [
        '-i',
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        process.execPath,
        '--import',
        'tsx',
        'src/main.ts',
        ...argv.slice(2),
      ]);
      if (command === 'generate')
        return run.ok && existsSync(join(dir, 'events', 'touchpoints.ndjson'))
          ? []
          : [`demo-data generate failed:\n${run.output}`];
      if (command === 'produce')
        return run.output.includes('no Kafka brokers')
          ? []
          : [`demo-data produce: expected to stop at the missing brokers, got:\n${run.output}`];
      return [`demo-data: unexpected command ${String(command)}`];
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
