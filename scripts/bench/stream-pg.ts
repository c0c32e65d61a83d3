/**
 * What the service's Postgres connections are doing, sampled from pg_stat_activity while it
 * runs (scripts/bench-stream.ts). The service's own connections are told apart from everybody
 * else's by their client ports, read from the service process's sockets in /proc — the
 * application_name 'touchline' is shared by every instance and test on the machine.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import pg from 'pg';

/** Local ports of the process's TCP connections to `serverPort`. */
export function clientPorts(pid: number, serverPort: number): Set<number> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m?.[1] !== undefined) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return new Set();
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      const remote = f[2];
      const inode = f[9];
      if (local === undefined || remote === undefined || inode === undefined || !inodes.has(inode)) continue;
      if (parseInt(remote.split(':')[1] ?? '', 16) !== serverPort) continue;
      ports.add(parseInt(local.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}

export interface ActivitySummary {
  readonly samples: number;
  /** Average number of the service's connections in each state (time-weighted). */
  readonly states: readonly [string, number][];
}

/**
 * Samples every `everyMs` until stopped. States: `idle in transaction` (the service works
 * between statements while holding its locks), `lock wait: <kind>`, `running` (a statement on
 * CPU or I/O), `idle` (no transaction open).
 */
export function sampleActivity(
  databaseUrl: string,
  pid: number,
  everyMs: number,
): { stop(): Promise<ActivitySummary> } {
  const serverPort = Number(new URL(databaseUrl).port || 5432);
  const totals = new Map<string, number>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    const client = new pg.Client({
      connectionString: databaseUrl,
      application_name: 'touchline-bench-probe',
    });
    await client.connect();
    try {
      while (running) {
        const ports = [...clientPorts(pid, serverPort)];
        if (ports.length > 0) {
          const rows = (
            await client.query<{
              state: string | null;
              wait_event_type: string | null;
              wait_event: string | null;
            }>(
              `SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE client_port = ANY($1::int[])`,
              [ports],
            )
          ).rows;
          samples += 1;
          for (const row of rows) {
            const state =
              row.state === 'active'
                ? row.wait_event_type === 'Lock'
                  ? `lock wait: ${row.wait_event ?? '?'}`
                  : 'running a statement'
                : (row.state ?? 'unknown');
            totals.set(state, (totals.get(state) ?? 0) + 1);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    } finally {
      await client.end();
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return {
        samples,
        states: [...totals]
          .map(([k, n]): [string, number] => [k, samples === 0 ? 0 : n / samples])
          .sort((a, b) => b[1] - a[1]),
      };
    },
  };
}

export function formatActivity(summary: ActivitySummary): string {
  if (summary.samples === 0) return 'no samples';
  return `${summary.states.map(([state, avg]) => `${state} ${avg.toFixed(2)}`).join(', ')} (average connections in each state, ${summary.samples} samples)`;
}
