import { execFileSync } from 'node:child_process';
import pg from 'pg';

/** The local PostgreSQL the machine provides (or DATABASE_URL). */
export const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function withClient<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Loads a CSV file with psql's \copy: Postgres's own CSV reader, independent of Touchline's. */
export function psqlCopy(table: string, path: string): void {
  execFileSync(
    'psql',
    [
      DATABASE_URL,
      '-v',
      'ON_ERROR_STOP=1',
      '-q',
      '-c',
      `\\copy ${table} FROM '${path}' WITH (FORMAT csv, HEADER true, NULL 'null')`,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
}

/** Rounds an exact decimal string to cents, half to even — written apart from src/domain/money.ts. */
export function roundCentsHalfEven(decimal: string): string {
  const negative = decimal.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? decimal.slice(1) : decimal).split('.');
  const digits = fraction.padEnd(20, '0');
  let cents = BigInt(whole) * 100n + BigInt(digits.slice(0, 2));
  const rest = digits.slice(2);
  const half = `5${'0'.repeat(rest.length - 1)}`;
  if (rest > half || (rest === half && cents % 2n === 1n)) cents += 1n;
  const text = `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
  return negative && cents !== 0n ? `-${text}` : text;
}
