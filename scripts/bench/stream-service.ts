/**
 * `touchline serve` as a child process of scripts/bench-stream.ts, so that its peak RSS is its
 * own: the child is the node process itself (no npx or tsx wrapper in between), and its
 * /proc/<pid>/status VmHWM (the kernel's resident-set high-water mark) is polled while it runs.
 *
 * Runtimes: `build` compiles src/ with tsc into .bench/stream-build/ (as `npm run build` would,
 * without touching dist/) and runs `node .bench/stream-build/src/main.js serve`, i.e. what
 * production runs; `tsx` runs `node --import tsx src/main.ts serve` (the tsx loader thread
 * adds some memory to the figure).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export type Runtime = 'build' | 'tsx';

/** Compiles src/ for the `build` runtime; returns the entry point. */
export function buildService(root: string, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [
      tsc,
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      outDir,
      '--incremental',
      '--tsBuildInfoFile',
      join(outDir, '.tsbuildinfo'),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`tsc build failed:\n${result.stdout}${result.stderr}`);
  // avro-codec.js reads ../../../avro/ relative to itself: <outDir>/avro.
  rmSync(join(outDir, 'avro'), { recursive: true, force: true });
  cpSync(join(root, 'avro'), join(outDir, 'avro'), { recursive: true });
  const entry = join(outDir, 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`build produced no ${entry}`);
  return entry;
}

export interface ServiceChild {
  readonly pid: number;
  /** The HTTP port, from the service's "touchline serving: metrics on http://host:PORT/metrics" log line. */
  readonly port: Promise<number>;
  /** Resolves with the exit code (or the signal name) when the process has exited. */
  readonly exited: Promise<string>;
  /** Highest VmHWM seen, in KiB (0 before the first reading). */
  peakRssKb(): number;
  /** Latest VmRSS, in KiB. */
  currentRssKb(): number;
  /** The last lines the service wrote on stderr. */
  stderrTail(): string;
  /** SIGTERM (graceful drain), then SIGKILL after `timeoutMs`; resolves with how it exited. */
  stop(timeoutMs: number): Promise<string>;
}

export interface SpawnOptions {
  readonly root: string;
  readonly runtime: Runtime;
  /** Compiled entry point, for the `build` runtime. */
  readonly entry?: string;
  readonly env: Readonly<Record<string, string>>;
  /** When set, the child runs with --cpu-prof and writes its profile there on exit. */
  readonly cpuProfDir?: string;
  readonly pollMs?: number;
}

function readStatus(pid: number): { hwm: number; rss: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return null;
  }
}

export function spawnService(options: SpawnOptions): ServiceChild {
  const nodeArgs: string[] = [];
  if (options.cpuProfDir !== undefined) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir);
  if (options.runtime === 'tsx')
    nodeArgs.push('--import', 'tsx', join(options.root, 'src', 'main.ts'), 'serve');
  else {
    if (options.entry === undefined) throw new Error('the build runtime needs the compiled entry point');
    nodeArgs.push(options.entry, 'serve');
  }
  const child = spawn(process.execPath, nodeArgs, {
    cwd: options.root,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the service process');

  let peak = 0;
  let current = 0;
  const poll = (): void => {
    const status = readStatus(pid);
    if (status === null) return;
    peak = Math.max(peak, status.hwm);
    current = status.rss;
  };
  const timer = setInterval(poll, options.pollMs ?? 200);

  const tail: string[] = [];
  let resolvePort: (port: number) => void = () => undefined;
  let rejectPort: (error: Error) => void = () => undefined;
  const port = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    rejectPort = reject;
  });
  port.catch(() => undefined); // observed by the caller; never an unhandled rejection here
  let buffered = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 400) tail.shift();
      const found = /metrics on http:\/\/[^/\s]+:(\d+)\/metrics/.exec(line);
      if (found !== null) resolvePort(Number(found[1]));
    }
  });

  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      const how = signal === null ? `exit ${code ?? '?'}` : `signal ${signal}`;
      rejectPort(new Error(`service exited (${how}) before serving:\n${tail.join('\n')}`));
      resolve(how);
    });
  });

  let stopping: Promise<string> | null = null;
  return {
    pid,
    port,
    exited,
    peakRssKb: () => {
      poll();
      return peak;
    },
    currentRssKb: () => {
      poll();
      return current;
    },
    stderrTail: () => tail.join('\n'),
    stop: (timeoutMs) =>
      (stopping ??= (async () => {
        poll();
        if (child.exitCode !== null || child.signalCode !== null) return exited;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        try {
          return await exited;
        } finally {
          clearTimeout(killer);
        }
      })()),
  };
}
