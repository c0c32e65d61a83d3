/** Text helpers the generator's files share. */
export const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** An ISO-8601 UTC instant, without milliseconds when they are zero. */
export const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
