import type { Vocabulary } from './catalog.js';

/**
 * Channel resolution for a touch. An explicit, known `channel` wins; without one, an ordered rule
 * set (GA4's default channel group is the model: first match wins) maps source / medium / campaign
 * to a channel; with no match the touch still counts, under Unassigned. Pure: the rules arrive
 * already read and validated (adapters/files/channel-rules-file.ts).
 */
export const UNASSIGNED = 'Unassigned';

export type RuleField = 'channel' | 'utm_source' | 'utm_medium' | 'utm_campaign' | 'campaign_name';

export const RULE_FIELDS: readonly RuleField[] = [
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'campaign_name',
];

/** exact: case-insensitive after trimming; wildcard: `*` is any run, anchored; regex: unanchored, /i. */
export type Pattern =
  { kind: 'exact'; value: string } | { kind: 'wildcard'; value: string } | { kind: 'regex'; value: string };

/** Every field given must match (AND); a field's list matches if any pattern does (OR). */
export interface ChannelRule {
  readonly name: string;
  readonly channel: string;
  readonly when: Partial<Record<RuleField, readonly Pattern[]>>;
}

export interface ChannelRules {
  readonly version: string;
  readonly rules: readonly ChannelRule[];
  /** Channel names the file declares beyond the built-in ones. */
  readonly channels: readonly string[];
}

export interface TouchChannelFields {
  readonly channel: string | null;
  readonly utm_source: string | null;
  readonly utm_medium: string | null;
  readonly utm_campaign: string | null;
  readonly campaign_name: string | null;
}

export type ChannelResolution =
  | { kind: 'known'; channel: string }
  | { kind: 'rule'; channel: string; rule: string }
  | { kind: 'unassigned' }
  | { kind: 'unknown'; text: string };

export interface ChannelResolver {
  readonly version: string;
  resolve(fields: TouchChannelFields): ChannelResolution;
}

export const EMPTY_RULES: ChannelRules = { version: 'none', rules: [], channels: [] };

/** One field's condition: exact values in a set, wildcards and regexes as compiled expressions. */
interface Condition {
  /** Rules often share a condition (GA4's paid-medium test is in seven): one id, tested once a touch. */
  readonly id: number;
  readonly field: number;
  readonly exact: ReadonlySet<string>;
  readonly expressions: readonly RegExp[];
}

interface CompiledRule {
  readonly conditions: readonly Condition[];
  readonly result: ChannelResolution;
}

const CHANNEL = 0;

/** `*` is any run of characters (newlines too); everything else is literal. */
function wildcardExpression(value: string): RegExp {
  const literal = value.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('[\\s\\S]*')}$`, 'i');
}

function compileCondition(id: number, field: number, patterns: readonly Pattern[]): Condition {
  const exact = new Set<string>();
  const expressions: RegExp[] = [];
  for (const pattern of patterns) {
    if (pattern.kind === 'exact') exact.add(pattern.value.trim().toLowerCase());
    else if (pattern.kind === 'wildcard') expressions.push(wildcardExpression(pattern.value.trim()));
    else expressions.push(new RegExp(pattern.value, 'i'));
  }
  return { id, field, exact, expressions };
}

type ConditionCache = Map<string, Condition>;

function compileRule(rule: ChannelRule, known: Vocabulary, shared: ConditionCache): CompiledRule {
  const channel = known.resolve(rule.channel);
  if (channel === null)
    throw new RangeError(
      `channel rule ${JSON.stringify(rule.name)}: ${JSON.stringify(rule.channel)} is not a known channel`,
    );
  const conditions: Condition[] = [];
  RULE_FIELDS.forEach((field, index) => {
    const patterns = rule.when[field];
    // An empty list stays a condition: it never matches, which is what it says.
    if (patterns === undefined) return;
    const key = `${field} ${JSON.stringify(patterns)}`;
    let condition = shared.get(key);
    if (condition === undefined) {
      condition = compileCondition(shared.size, index, patterns);
      shared.set(key, condition);
    }
    conditions.push(condition);
  });
  if (conditions.length === 0)
    throw new RangeError(`channel rule ${JSON.stringify(rule.name)} has no condition`);
  return { conditions, result: { kind: 'rule', channel, rule: rule.name } };
}

function holds(
  condition: Condition,
  text: string | null | undefined,
  lower: string | null | undefined,
): boolean {
  if (text == null || lower == null) return false;
  if (condition.exact.has(lower)) return true;
  for (const expression of condition.expressions) if (expression.test(text)) return true;
  return false;
}

/**
 * Tries rules in order on one touch's fields at a time. The fields sit in a scratch buffer and each
 * shared condition's outcome is remembered for the touch under a generation stamp, so a touch costs
 * no allocation and no condition is tested twice.
 */
function createMatcher(conditionCount: number) {
  const text: (string | null)[] = [null, null, null, null, null];
  const lower: (string | null)[] = [null, null, null, null, null];
  const stamps = new Uint32Array(conditionCount);
  const outcomes = new Uint8Array(conditionCount);
  let generation = 0;

  const test = (condition: Condition): boolean => {
    if (stamps[condition.id] === generation) return outcomes[condition.id] === 1;
    const outcome = holds(condition, text[condition.field], lower[condition.field]);
    stamps[condition.id] = generation;
    outcomes[condition.id] = outcome ? 1 : 0;
    return outcome;
  };

  return {
    text,
    firstMatch(rules: readonly CompiledRule[]): ChannelResolution | null {
      generation = generation === 0xffffffff ? 1 : generation + 1;
      if (generation === 1) stamps.fill(0);
      for (let i = 0; i < text.length; i++) lower[i] = text[i]?.toLowerCase() ?? null;
      for (const rule of rules) if (rule.conditions.every(test)) return rule.result;
      return null;
    },
  };
}

const present = (text: string | null): string | null => {
  if (text === null) return null;
  const trimmed = text.trim();
  return trimmed === '' ? null : trimmed;
};

/** Answers remembered per distinct field combination: few in practice, bounded for hostile input. */
const MEMO_LIMIT = 4096;
const UNASSIGNED_RESOLUTION: ChannelResolution = { kind: 'unassigned' };

/** Length-prefixed, so no text can make two different combinations share a key. */
const memoKey = (text: readonly (string | null)[]): string => {
  let key = '';
  for (const value of text) key += value === null ? '-' : `${value.length}:${value}`;
  return key;
};

/**
 * Compiles once (expressions built once, case-insensitive). `known` canonicalises channel text; its
 * names must include the rules file's extra channels. Throws RangeError for a rule whose channel it
 * does not know (the file loader reports that as a problem first).
 */
export function compileChannelRules(rules: ChannelRules, known: Vocabulary): ChannelResolver {
  const shared: ConditionCache = new Map();
  const compiled = rules.rules.map((rule) => compileRule(rule, known, shared));
  // Only a rule with a channel condition can map unknown channel text; only one without can
  // match a touch that has no channel (an absent field never matches).
  const forChannelText = compiled.filter((rule) => rule.conditions.some((c) => c.field === CHANNEL));
  const forNoChannel = compiled.filter((rule) => rule.conditions.every((c) => c.field !== CHANNEL));
  const knownAnswers = new Map<string, ChannelResolution>();
  const memo = new Map<string, ChannelResolution>();
  // resolve() is synchronous, so one matcher (one scratch buffer) serves every call.
  const matcher = createMatcher(shared.size);

  const knownAnswer = (channel: string): ChannelResolution => {
    let answer = knownAnswers.get(channel);
    if (answer === undefined) {
      answer = { kind: 'known', channel };
      knownAnswers.set(channel, answer);
    }
    return answer;
  };

  return {
    version: rules.version,
    resolve(fields) {
      const channelText = present(fields.channel);
      if (channelText !== null) {
        const channel = known.resolve(channelText);
        if (channel !== null) return knownAnswer(channel);
      }
      const text = matcher.text;
      text[0] = channelText;
      text[1] = present(fields.utm_source);
      text[2] = present(fields.utm_medium);
      text[3] = present(fields.utm_campaign);
      text[4] = present(fields.campaign_name);
      const key = memoKey(text);
      const remembered = memo.get(key);
      if (remembered !== undefined) return remembered;
      const answer =
        channelText !== null
          ? (matcher.firstMatch(forChannelText) ?? { kind: 'unknown', text: channelText })
          : (matcher.firstMatch(forNoChannel) ?? UNASSIGNED_RESOLUTION);
      if (memo.size < MEMO_LIMIT) memo.set(key, answer);
      return answer;
    },
  };
}
