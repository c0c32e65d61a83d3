import { parse } from 'yaml';
import { z } from 'zod';
import { createVocabulary, type Vocabulary } from '../../domain/catalog.js';
import {
  RULE_FIELDS,
  type ChannelRule,
  type ChannelRules,
  type Pattern,
  type RuleField,
} from '../../domain/channel-rules.js';
import { AppError } from '../../errors.js';
import { readConfigText } from './config-file.js';

/**
 * The channel rules file (config/channel-rules.yaml is the shipped one): YAML, validated by one zod
 * schema, every problem reported with where it is, so a bad file is fixed in one pass, not ten.
 *
 * Pattern text: `/…/` is a regular expression (always case-insensitive, unanchored unless anchored);
 * text with `*` is a wildcard (`*` = any run, anchored at both ends, the rest literal); anything else
 * is an exact, case-insensitive value. A field takes one pattern or a list of them.
 */
export function parsePattern(text: string): Pattern {
  const trimmed = text.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('/') && trimmed.endsWith('/'))
    return { kind: 'regex', value: trimmed.slice(1, -1) };
  if (trimmed.includes('*')) return { kind: 'wildcard', value: trimmed };
  return { kind: 'exact', value: trimmed };
}

function patternProblem(text: string): string | null {
  if (text.trim() === '') return 'is empty';
  const pattern = parsePattern(text);
  if (pattern.kind !== 'regex') return null;
  if (pattern.value === '') return '// is an empty regular expression (use * to match any value)';
  try {
    new RegExp(pattern.value, 'i');
    return null;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return `${text.trim()} is not a valid regular expression: ${detail}`;
  }
}

const numberAsText = (value: unknown): unknown => (typeof value === 'number' ? String(value) : value);

const patternText = z.preprocess(
  numberAsText,
  z.string().superRefine((text, ctx) => {
    const problem = patternProblem(text);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

const patternList = z.union([patternText, z.array(patternText).min(1, 'is an empty list')]);

const unknownKeys =
  (allowed: readonly string[]) =>
  (issue: { code?: string; keys?: string[] }): string | undefined =>
    issue.code === 'unrecognized_keys'
      ? `unknown key${issue.keys?.length === 1 ? '' : 's'} ${(issue.keys ?? []).map((k) => JSON.stringify(k)).join(', ')} (allowed: ${allowed.join(', ')})`
      : undefined;

const whenShape = Object.fromEntries(RULE_FIELDS.map((field) => [field, patternList.optional()])) as Record<
  RuleField,
  z.ZodOptional<typeof patternList>
>;

const whenSchema = z
  .strictObject(whenShape, { error: unknownKeys(RULE_FIELDS) })
  .refine((when) => RULE_FIELDS.some((field) => when[field] !== undefined), {
    message: `needs at least one of ${RULE_FIELDS.join(', ')}`,
  });

const name = z.string().trim().min(1, 'is empty');

const knownChannel = (channels: Vocabulary) =>
  name.superRefine((text, ctx) => {
    if (channels.resolve(text) === null)
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(text)} is not a known channel (known: ${channels.names.join(', ')})`,
      });
  });

/** Declared channels must be new names: a respelt built-in would rename that channel's row. */
const declaredChannels = (builtIn: Vocabulary) =>
  z.array(name).superRefine((names, ctx) => {
    names.forEach((text, i) => {
      const existing = builtIn.resolve(text) ?? createVocabulary(names.slice(0, i)).resolve(text);
      if (existing !== null)
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `${JSON.stringify(text)} is already a channel (${existing})`,
        });
    });
  });

/** Runs even when some rules are malformed (so its problems join theirs): it trusts no shape. */
const ruleNamesUnique = (rules: unknown, ctx: z.RefinementCtx): void => {
  if (!Array.isArray(rules)) return;
  const seen = new Map<string, number>();
  rules.forEach((rule: unknown, i) => {
    if (typeof rule !== 'object' || rule === null || !('name' in rule) || typeof rule.name !== 'string')
      return;
    const first = seen.get(rule.name);
    if (first === undefined) seen.set(rule.name, i);
    else ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `is also the name of rules[${first}]` });
  });
};

function fileSchema(builtIn: readonly string[], declared: readonly string[]) {
  const channels = createVocabulary([...builtIn, ...declared]);
  const rule = z.strictObject(
    { name: name.optional(), channel: knownChannel(channels), when: whenSchema },
    { error: unknownKeys(['name', 'channel', 'when']) },
  );
  return z.strictObject(
    {
      version: z.preprocess(numberAsText, name),
      channels: declaredChannels(createVocabulary(builtIn)).optional(),
      rules: z.array(rule).superRefine(ruleNamesUnique, { when: () => true }),
    },
    { error: unknownKeys(['version', 'channels', 'rules']) },
  );
}

/** The file's own channel names, read leniently, so rule channels can be checked in the same pass. */
function rawDeclaredChannels(document: unknown, builtIn: readonly string[]): string[] {
  if (typeof document !== 'object' || document === null || !('channels' in document)) return [];
  const { channels } = document;
  if (!Array.isArray(channels)) return [];
  const declared: string[] = [];
  for (const entry of channels) {
    if (typeof entry !== 'string' || entry.trim() === '') continue;
    // Respellings are reported by the schema; the first spelling is the one kept.
    if (createVocabulary([...builtIn, ...declared]).resolve(entry) === null) declared.push(entry.trim());
  }
  return declared;
}

const where = (path: readonly PropertyKey[]): string =>
  path.length === 0
    ? '(top level)'
    : path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');

/** A union's issues are those of the branch the value's shape chose (a list, or one text). */
function problemsOf(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code !== 'invalid_union') return [`${where(path)}: ${issue.message}`];
    const chosen = issue.errors.find(
      (branch) => !branch.some((i) => i.path.length === 0 && i.code === 'invalid_type'),
    );
    return chosen === undefined
      ? [`${where(path)}: must be a pattern or a list of patterns`]
      : problemsOf(chosen, path);
  });
}

const missingIsRequired = (issue: { code?: string; input?: unknown }): string | undefined =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined;

type ParsedRules = z.infer<ReturnType<typeof fileSchema>>;

function toChannelRules(
  parsed: ParsedRules,
  builtIn: readonly string[],
  declared: readonly string[],
): ChannelRules {
  const channels = createVocabulary([...builtIn, ...declared]);
  const rules = parsed.rules.map((rule, i): ChannelRule => {
    const when: Partial<Record<RuleField, readonly Pattern[]>> = {};
    for (const field of RULE_FIELDS) {
      const value = rule.when[field];
      if (value !== undefined) when[field] = (typeof value === 'string' ? [value] : value).map(parsePattern);
    }
    return {
      name: rule.name ?? `rules[${i}]`,
      channel: channels.resolve(rule.channel) ?? rule.channel,
      when,
    };
  });
  return { version: parsed.version, rules, channels: [...declared] };
}

const fail = (source: string, problems: readonly string[]): never => {
  throw new AppError(
    'CONFIG_INVALID',
    `channel rules file ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`,
  );
};

/** Parses the text of a rules file; `source` names it in errors. Throws listing every problem. */
export function parseChannelRules(
  text: string,
  source: string,
  builtInChannels: readonly string[],
): ChannelRules {
  let document: unknown;
  try {
    document = parse(text, { prettyErrors: true });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new AppError('CONFIG_INVALID', `channel rules file ${source}: not valid YAML: ${detail}`, {
      cause: error,
    });
  }
  const declared = rawDeclaredChannels(document, builtInChannels);
  const result = fileSchema(builtInChannels, declared).safeParse(document ?? {}, {
    error: missingIsRequired,
  });
  if (!result.success) return fail(source, problemsOf(result.error.issues));
  return toChannelRules(result.data, builtInChannels, declared);
}

/** Reads and parses a rules file (the path comes from config). */
export function loadChannelRules(path: string, builtInChannels: readonly string[]): ChannelRules {
  const text = readConfigText(path, 'channel rules file');
  return parseChannelRules(text, path, builtInChannels);
}
