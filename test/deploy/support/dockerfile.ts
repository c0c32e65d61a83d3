// The image without a Docker engine: the Dockerfile through dockerfile-utils (the linter behind
// VS Code's Dockerfile support), the build context through @balena/dockerignore (a port of
// Docker's own matcher), the HEALTHCHECK command run against a stub, and (slow, in the check
// script) the runtime stage assembled in a temporary directory and started.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { PATHS, ROOT, runTool } from './files.js';

// A CommonJS module whose typings declare an ES default export: load it as what it is, and
// declare the two methods used.
interface DockerIgnoreMatcher {
  add(patterns: string): DockerIgnoreMatcher;
  filter(paths: readonly string[]): string[];
}
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as () => DockerIgnoreMatcher;

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

/** Instructions per stage (continuation lines joined, comments dropped). */
export function dockerfileStages(text: string = readFileSync(PATHS.dockerfile, 'utf8')): Instruction[][] {
  const stages: Instruction[][] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') start = index + 1;
    pending += `${line.replace(/\\$/, '')} `;
    if (line.endsWith('\\')) return;
    const [keyword = '', ...rest] = pending.trim().split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' '), line: start };
    pending = '';
    if (instruction.keyword === 'FROM') stages.push([]);
    if (instruction.keyword === 'ARG' && stages.length === 0) return;
    stages.at(-1)?.push(instruction);
  });
  return stages;
}

/** Linter findings (errors and warnings) plus the image's own rules. */
export function lintDockerfile(text: string = readFileSync(PATHS.dockerfile, 'utf8')): string[] {
  const problems = validate(text).map(
    (d) =>
      `Dockerfile:${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`,
  );
  const stages = dockerfileStages(text);
  const runtime = stages.at(-1) ?? [];
  const find = (keyword: string) => runtime.filter((i) => i.keyword === keyword);
  if (stages.length < 2) problems.push('Dockerfile: expected a build stage and a runtime stage');
  const user = find('USER').at(-1)?.args ?? 'root';
  if (/^(root|0)(:|$)/.test(user)) problems.push('Dockerfile: the runtime stage must run as a non-root USER');
  if (!find('RUN').some((i) => /npm ci\b.*--omit=dev/.test(i.args)))
    problems.push('Dockerfile: the runtime stage must install with npm ci --omit=dev');
  if (find('HEALTHCHECK').length !== 1 || !find('HEALTHCHECK')[0]?.args.includes('/healthz'))
    problems.push('Dockerfile: one HEALTHCHECK on /healthz');
  const shipped = find('COPY').map((i) =>
    i.args
      .replace(/--from=\S+\s+/, '')
      .split(/\s+/)
      .slice(0, -1)
      .join(' '),
  );
  const allowed =
    /^(package\.json|package-lock\.json|package\.json package-lock\.json|\/app\/dist|avro|config)$/;
  for (const sources of shipped)
    if (!allowed.test(sources))
      problems.push(
        `Dockerfile: the runtime stage copies ${sources}; it ships only dist/, avro/, config/, package*.json`,
      );
  return problems;
}

/** Files Docker would send as build context: the repository's files minus .dockerignore. */
export function buildContext(): string[] {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f !== '');
  // Untracked and ignored trees that exist on developers' machines.
  const local = [
    'node_modules/kafkajs/package.json',
    'dist/src/main.js',
    '.env',
    '.demo-data/events/contacts.ndjson',
    '.git/config',
  ];
  const matcher = dockerignore().add(readFileSync(PATHS.dockerignore, 'utf8'));
  return matcher.filter([...new Set([...files, ...local])]);
}

/** The context must hold what the Dockerfile copies from it, and nothing that is not needed. */
export function checkBuildContext(): string[] {
  const context = buildContext();
  const problems: string[] = [];
  for (const stage of dockerfileStages())
    for (const copy of stage.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from=')))
      for (const source of copy.args.split(/\s+/).slice(0, -1))
        if (!context.some((f) => f === source || f.startsWith(`${source.replace(/\/$/, '')}/`)))
          problems.push(`COPY ${source}: not in the build context`);
  for (const file of context)
    if (
      !/^(package\.json|package-lock\.json|tsconfig(\.build)?\.json|src\/.+|avro\/.+\.avsc|config\/.+\.yaml)$/.test(
        file,
      )
    )
      problems.push(`build context holds ${file}`);
  return problems;
}

/** The HEALTHCHECK's exec-form command. */
export function healthcheckCommand(): string[] {
  const healthcheck = dockerfileStages()
    .at(-1)
    ?.find((i) => i.keyword === 'HEALTHCHECK');
  const json = /CMD\s+(\[.*\])\s*$/.exec(healthcheck?.args ?? '')?.[1];
  if (json === undefined) throw new Error('HEALTHCHECK has no exec-form CMD');
  return JSON.parse(json) as string[];
}

/** Exit code of the HEALTHCHECK command against a local server answering `status` on /healthz (or none). */
export async function runHealthcheck(status: number | 'no server'): Promise<number> {
  const [command = 'node', ...args] = healthcheckCommand();
  const server = createServer((request, response) =>
    response.writeHead(request.url === '/healthz' && typeof status === 'number' ? status : 404).end(),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  if (status === 'no server') await new Promise((resolve) => server.close(resolve));
  try {
    const child = spawn(command, args, { env: { ...process.env, HTTP_PORT: String(port) }, stdio: 'ignore' });
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * The image's two stages done by hand in a temporary directory: the build stage compiles the
 * context (with the project's node_modules: the same lockfile), the runtime stage is a real
 * `npm ci --omit=dev` plus dist/ and avro/. Then the runtime tree must start: `help`, the Avro
 * schemas found where the compiled code looks, and `serve` with no settings listing them all.
 */
export function assembleRuntimeImage(log: (line: string) => void): string[] {
  const work = mkdtempSync(join(tmpdir(), 'touchline-image-'));
  const problems: string[] = [];
  try {
    const build = join(work, 'build');
    const app = join(work, 'app');
    for (const file of buildContext()) {
      mkdirSync(join(build, file, '..'), { recursive: true });
      cpSync(join(ROOT, file), join(build, file));
    }
    symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'));
    const compiled = runTool('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: build });
    if (!compiled.ok) return [`build stage: tsc failed:\n${compiled.output}`];
    mkdirSync(app);
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(build, file), join(app, file));
    log('runtime stage: npm ci --omit=dev (needs the npm registry or its cache)');
    const installed = runTool('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], {
      cwd: app,
      timeoutMs: 300_000,
    });
    if (!installed.ok) return [`runtime stage: npm ci --omit=dev failed:\n${installed.output}`];
    cpSync(join(build, 'dist'), join(app, 'dist'), { recursive: true });
    cpSync(join(build, 'avro'), join(app, 'avro'), { recursive: true });
    cpSync(join(build, 'config'), join(app, 'config'), { recursive: true });
    const help = runTool('node', ['dist/src/main.js', 'help'], { cwd: app });
    if (!help.ok || !help.output.includes('serve'))
      problems.push(`runtime image: "help" failed:\n${help.output}`);
    const schemas = runTool(
      'node',
      [
        '--input-type=module',
        '-e',
        "const m = await import('./dist/src/adapters/kafka/avro-codec.js'); const t = await import('./dist/src/adapters/kafka/topics.js'); for (const s of Object.values(t.TOPIC_SCHEMAS)) { m.readSchema(s.key); m.readSchema(s.value); } console.log('schemas ok');",
      ],
      { cwd: app },
    );
    if (!schemas.ok) problems.push(`runtime image: Avro schemas not found from dist/:\n${schemas.output}`);
    const rules = runTool(
      'node',
      [
        '--input-type=module',
        '-e',
        "const s = await import('./dist/src/cli/settings.js'); console.log('rules', s.loadRules(undefined).version);",
      ],
      { cwd: app },
    );
    if (!rules.ok || !rules.output.includes('rules '))
      problems.push(`runtime image: the shipped channel rules not found from dist/:\n${rules.output}`);
    const serve = runTool(
      'env',
      ['-i', `PATH=${process.env['PATH'] ?? ''}`, 'node', 'dist/src/main.js', 'serve'],
      { cwd: app },
    );
    if (serve.ok || !serve.output.includes('KAFKA_BROKERS'))
      problems.push(
        `runtime image: serve without settings should list the missing ones and exit non-zero:\n${serve.output}`,
      );
    const size = runTool('du', ['-sh', app]).output.split('\t')[0];
    log(
      `runtime tree assembled in ${app}: ${size ?? '?'}; help, Avro schemas and serve's config check work with production dependencies only`,
    );
    return problems;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
