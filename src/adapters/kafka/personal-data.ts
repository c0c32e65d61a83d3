import { createHmac } from 'node:crypto';

/**
 * Contact ids are the only personal data Touchline keeps. An e-mail address that a touch carries
 * is replaced by a keyed hash before anything is stored — the dead-letter topic included — so it
 * can still be matched by whoever holds the key, and read by no one. Without a key it is dropped.
 */
export function protectEmail(email: string, key: string | undefined): string | null {
  if (key === undefined) return null;
  return `hmac-sha256:${createHmac('sha256', key).update(email.trim().toLowerCase()).digest('hex')}`;
}
