import { z } from 'zod';
import { ALL_MODELS, STREAMING_MODEL_NAMES } from './domain/models/index.js';
import { DEFAULT_CHANNELS, DEFAULT_SEGMENTS } from './domain/catalog.js';
import { DEFAULT_TOPICS } from './adapters/kafka/topics.js';
import { canonicalCurrency } from './domain/fx.js';
import { canonicalTimeZone } from './domain/period.js';

/**
 * The service's whole configuration, from the environment, parsed once by one schema.
 * On failure every problem is listed and the process exits before connecting anywhere.
 */
const list = (fallback: readonly string[]) =>
  z
    .string()
    .optional()
    .transform((text) =>
      text === undefined || text.trim() === ''
        ? [...fallback]
        : text
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
    );
const positive = (fallback: number) => z.coerce.number().positive().default(fallback);
const url = (protocols: string[]) =>
  z.string().refine(
    (text) => {
      try {
        return protocols.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.join(' or ')}`,
  );

const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true');
const optionalText = z.string().min(1).optional();

/** The settings, field by field (pick from this one: refinements forbid picking). */
export const configFields = z.object({
  KAFKA_BROKERS: list([]).refine(
    (brokers) => brokers.length > 0 && brokers.every((b) => /^[^:\s]+:\d+$/.test(b)),
    'must list host:port brokers, comma-separated',
  ),
  KAFKA_CLIENT_ID: z.string().min(1).default('touchline'),
  KAFKA_GROUP_ID: z.string().min(1).default('touchline'),
  SCHEMA_REGISTRY_URL: url(['http:', 'https:']),
  REDIS_URL: url(['redis:', 'rediss:']),
  REDIS_KEY_PREFIX: z.string().min(1).default('touchline:'),
  DATABASE_URL: url(['postgres:', 'postgresql:']),
  PG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier')
    .default('touchline'),
  HTTP_HOST: z.string().default('0.0.0.0'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  TOPIC_TOUCHPOINTS: z.string().min(1).default(DEFAULT_TOPICS.touchpoints),
  TOPIC_CONTACTS: z.string().min(1).default(DEFAULT_TOPICS.contacts),
  TOPIC_OPPORTUNITIES: z.string().min(1).default(DEFAULT_TOPICS.opportunities),
  TOPIC_PIPELINE: z.string().min(1).default(DEFAULT_TOPICS.pipeline),
  TOPIC_DLQ: z.string().min(1).default(DEFAULT_TOPICS.dlq),
  TOPIC_FX_RATES: z.string().min(1).default(DEFAULT_TOPICS.fxRates),
  TOPIC_PARTITIONS: z.coerce.number().int().min(1).default(6),
  TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(1).default(1),
  WINDOW_DAYS: positive(90),
  HALF_LIFE_DAYS: positive(7),
  ALLOWED_LATENESS_DAYS: z.coerce.number().min(0).default(30),
  MODELS: list(STREAMING_MODEL_NAMES)
    .refine(
      (names) => names.every((n) => ALL_MODELS.some((m) => m.name === n)),
      `must name known models: ${ALL_MODELS.map((m) => m.name).join(', ')}`,
    )
    .refine(
      (names) =>
        names.every((n) => !ALL_MODELS.some((m) => m.name === n) || STREAMING_MODEL_NAMES.includes(n)),
      `the stage models (${ALL_MODELS.filter((m) => !STREAMING_MODEL_NAMES.includes(m.name))
        .map((m) => m.name)
        .join(
          ', ',
        )}) run in batch only so far (touchline replay); streaming computes ${STREAMING_MODEL_NAMES.join(', ')}`,
    ),
  CHANNELS: list(DEFAULT_CHANNELS),
  SEGMENTS: list(DEFAULT_SEGMENTS),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(25_000),
  CONSUMER_PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).max(64).default(3),
  CATCH_UP_LAG: z.coerce.number().int().min(0).default(2000),
  // The broker's group.min.session.timeout.ms is 6 s by default: a killed instance's partitions
  // move within about that, plus one rebalance. Heartbeats go on during long batches (service.ts).
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1000).default(6_000),
  KAFKA_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).default(1_000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  // Security (docs/threat-model.md). Secrets come from the environment (a Kubernetes Secret),
  // are never logged, and never appear in metric labels.
  KAFKA_SSL: flag(false),
  KAFKA_SSL_CA_FILE: optionalText,
  KAFKA_SASL_MECHANISM: z.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512']).default('none'),
  KAFKA_SASL_USERNAME: optionalText,
  KAFKA_SASL_PASSWORD: optionalText,
  SCHEMA_REGISTRY_USERNAME: optionalText,
  SCHEMA_REGISTRY_PASSWORD: optionalText,
  REDIS_TLS_CA_FILE: optionalText,
  PG_SSL_MODE: z.enum(['disable', 'require', 'verify-full']).default('disable'),
  PG_SSL_CA_FILE: optionalText,
  MIGRATE_ON_START: flag(true),
  // Reporting dimensions (SPEC "Reporting dimensions").
  REPORTING_TIME_ZONE: z
    .string()
    .default('UTC')
    .transform((text, ctx) => {
      const zone = canonicalTimeZone(text.trim());
      if (zone === null) {
        ctx.addIssue({ code: 'custom', message: 'must be an IANA time zone such as UTC or Europe/Berlin' });
        return z.NEVER;
      }
      return zone;
    }),
  FISCAL_YEAR_START_MONTH: z.coerce.number().int().min(1).max(12).default(1),
  REPORTING_CURRENCY: z
    .string()
    .default('USD')
    .transform((text, ctx) => {
      const code = canonicalCurrency(text);
      if (code === null) {
        ctx.addIssue({ code: 'custom', message: 'must be an ISO 4217 currency code such as USD' });
        return z.NEVER;
      }
      return code;
    }),
  CHANNEL_RULES_FILE: optionalText,
  PII_HASH_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
});

export const configSchema = configFields.superRefine((c, ctx) => {
  const problem = (path: string, message: string): void =>
    void ctx.addIssue({ code: 'custom', path: [path], message });
  if (c.KAFKA_SASL_MECHANISM !== 'none') {
    if (c.KAFKA_SASL_USERNAME === undefined)
      problem('KAFKA_SASL_USERNAME', `required when KAFKA_SASL_MECHANISM is ${c.KAFKA_SASL_MECHANISM}`);
    if (c.KAFKA_SASL_PASSWORD === undefined)
      problem('KAFKA_SASL_PASSWORD', `required when KAFKA_SASL_MECHANISM is ${c.KAFKA_SASL_MECHANISM}`);
    if (!c.KAFKA_SSL)
      problem('KAFKA_SSL', 'must be true when SASL is used: credentials are never sent in clear text');
  }
  if ((c.SCHEMA_REGISTRY_USERNAME === undefined) !== (c.SCHEMA_REGISTRY_PASSWORD === undefined)) {
    problem('SCHEMA_REGISTRY_PASSWORD', 'SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD go together');
  }
  if (c.KAFKA_SSL_CA_FILE !== undefined && !c.KAFKA_SSL)
    problem('KAFKA_SSL_CA_FILE', 'set KAFKA_SSL=true to use it');
  if (c.REDIS_TLS_CA_FILE !== undefined && !c.REDIS_URL.startsWith('rediss:'))
    problem('REDIS_TLS_CA_FILE', 'needs a rediss:// REDIS_URL');
  if (c.PG_SSL_CA_FILE !== undefined && c.PG_SSL_MODE !== 'verify-full')
    problem('PG_SSL_CA_FILE', 'is used only with PG_SSL_MODE=verify-full');
  // kafkajs and Kafka's own guidance: heartbeats at most a third of the session timeout.
  if (c.KAFKA_HEARTBEAT_INTERVAL_MS * 3 > c.KAFKA_SESSION_TIMEOUT_MS)
    problem(
      'KAFKA_HEARTBEAT_INTERVAL_MS',
      `must be at most a third of KAFKA_SESSION_TIMEOUT_MS (${c.KAFKA_SESSION_TIMEOUT_MS})`,
    );
});

export type Config = z.infer<typeof configSchema>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Parses the environment; every problem is reported with the variable it concerns. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const result = configSchema.safeParse(env);
  if (result.success) return { ok: true, config: result.data };
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const value = env[name];
    const missing = value === undefined && /expected string|invalid input/i.test(issue.message);
    return missing ? `${name}: required but not set` : `${name}: ${issue.message}`;
  });
  return { ok: false, problems };
}
