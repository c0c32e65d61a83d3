import type { Log } from './adapters/kafka/client.js';

const ORDER = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/** JSON lines on stderr: one object per event, easy to ship and grep. Never given secrets. */
export function createLogger(level: keyof typeof ORDER, write: (line: string) => void): Log {
  return (at, message) => {
    if (ORDER[at] < ORDER[level]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: at, message })}\n`);
  };
}
