/**
 * The known vocabularies. Source systems spell them loosely ("mid-market", "ADWORDS"); Touchline
 * maps each spelling to one canonical name and refuses text it does not know, because an unknown
 * channel silently becoming its own row would split a channel's pipeline in two.
 */
export const UNATTRIBUTED = 'Unattributed';

export const DEFAULT_CHANNELS: readonly string[] = [
  'Adwords',
  'Event',
  'Webinar',
  'Website',
  'Outbound',
  'Email',
  'Paid Social',
  'Organic Search',
  'Referral',
  'Partner',
];

export const DEFAULT_SEGMENTS: readonly string[] = ['Commercial', 'Mid Market', 'Enterprise'];

export interface Vocabulary {
  /** Canonical name for a spelling, or null when the text is unknown. */
  resolve(text: string): string | null;
  readonly names: readonly string[];
}

const squash = (text: string): string =>
  text
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');

/** Spellings remembered as they were seen: a few per name in practice, bounded for hostile input. */
const SEEN_LIMIT = 4096;

export function createVocabulary(names: readonly string[]): Vocabulary {
  const bySpelling = new Map(names.map((name) => [squash(name), name] as const));
  const seen = new Map<string, string | null>();
  return {
    names,
    resolve(text) {
      const known = seen.get(text);
      if (known !== undefined) return known;
      const name = bySpelling.get(squash(text)) ?? null;
      if (seen.size < SEEN_LIMIT) seen.set(text, name);
      return name;
    },
  };
}
