/**
 * A rebuild reads the state back from the input topics, so the service refuses topics that
 * would not hold it: touches kept shorter than window + lateness, entity topics that delete.
 * Checked against the real broker's topic configs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInputRetention, createKafka, ensureTopics } from '../../src/adapters/kafka/client.js';
import type { TopicNames } from '../../src/adapters/kafka/topics.js';
import { MS_PER_DAY } from '../../src/domain/time.js';
import { SERVICES } from '../support/services.js';
import { randomBytes } from 'node:crypto';

const kafka = createKafka({
  brokers: SERVICES.KAFKA_BROKERS.split(','),
  clientId: 'retention-test',
  log: () => undefined,
});
const admin = kafka.admin();
const created: string[] = [];
beforeAll(() => admin.connect());
afterAll(async () => {
  await admin.deleteTopics({ topics: created }).catch(() => undefined);
  await admin.disconnect();
});

const topicsNamed = (): TopicNames => {
  const id = `retention_${randomBytes(4).toString('hex')}`;
  const topics = {
    touchpoints: `${id}.touches`,
    contacts: `${id}.contacts`,
    opportunities: `${id}.opportunities`,
    pipeline: `${id}.pipeline`,
    dlq: `${id}.dlq`,
    fxRates: `${id}.fx`,
  };
  created.push(...Object.values(topics));
  return topics;
};
const needed = 97 * MS_PER_DAY;

describe('input retention check', () => {
  it('accepts the topics the service creates (touches kept window + lateness + a week, entities compacted)', async () => {
    const topics = topicsNamed();
    await ensureTopics(admin, topics, 1, 1, needed + 7 * MS_PER_DAY);
    await expect(checkInputRetention(admin, topics, needed)).resolves.toBeUndefined();
  });

  it('refuses, in one line, a touch topic kept shorter than window + lateness', async () => {
    const topics = topicsNamed();
    await ensureTopics(admin, topics, 1, 1, 7 * MS_PER_DAY);
    await expect(checkInputRetention(admin, topics, needed)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `topic ${topics.touchpoints} keeps records 7 days (retention.ms=604800000), shorter than WINDOW_DAYS + ALLOWED_LATENESS_DAYS = 97 days: a state rebuild would lose touches; raise its retention.ms to at least 8380800000`,
    });
  });

  it('refuses entity topics that are neither compacted only nor kept for ever', async () => {
    const topics = topicsNamed();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: topics.touchpoints,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: '-1' }],
        },
        {
          topic: topics.contacts,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: String(30 * MS_PER_DAY) }],
        },
        {
          topic: topics.opportunities,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact,delete' },
            { name: 'retention.ms', value: String(30 * MS_PER_DAY) },
          ],
        },
      ],
    });
    // Both are named, in one line: "compact,delete" also deletes old latest values.
    await expect(checkInputRetention(admin, topics, needed)).rejects.toThrow(
      `topic ${topics.contacts} is neither compacted only nor kept for ever (cleanup.policy=delete, retention.ms=2592000000): a state rebuild would lose its records; set cleanup.policy=compact; ` +
        `topic ${topics.opportunities} is neither compacted only nor kept for ever (cleanup.policy=compact,delete, retention.ms=2592000000): a state rebuild would lose its records; set cleanup.policy=compact`,
    );
  });
});
