/**
 * Steady load for a chaos scenario: a generated dataset (`touchline generate`, dirty rows and
 * updates included), read the way `touchline produce` reads it, Avro-encoded once up front (so
 * the producer needs no registry while the registry is down), with garbage records mixed in
 * (bytes no Avro decoder reads, and a schema id the registry never handed out) so the
 * dead-letter topic gets records of every kind. Sent at a fixed rate with the benchmark's
 * sendBatch; a send that fails or hangs is sent again by a new producer.
 */
import { join } from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { createAvroCodec, createSchemaRegistry } from '../../src/adapters/kafka/avro-codec.js';
import type { TopicNames } from '../../src/adapters/kafka/topics.js';
import { runGenerate } from '../../src/cli/generate.js';
import { readMessages } from '../../src/cli/produce.js';
import { encodeMessages, sendBatch, type EncodedMessage } from '../bench/stream-kafka.js';
import { withTimeout } from './fleet.js';

const QUIET = { stdout: () => undefined, stderr: () => undefined };

export interface DatasetSize {
  readonly contacts: number;
  readonly opportunities: number;
  readonly touches: number;
  readonly seed: number;
  readonly dirtyRate: number;
  readonly updateRate: number;
}

/** Generates the dataset into `dir`; returns its events directory. */
export async function generateDataset(dir: string, size: DatasetSize): Promise<string> {
  const argv = [
    '--out',
    dir,
    '--seed',
    String(size.seed),
    '--contacts',
    String(size.contacts),
    '--opportunities',
    String(size.opportunities),
    '--touches',
    String(size.touches),
    '--dirty-rate',
    String(size.dirtyRate),
    '--update-rate',
    String(size.updateRate),
  ];
  let output = '';
  const code = await runGenerate(argv, { stdout: (t) => (output += t), stderr: (t) => (output += t) });
  if (code !== 0) throw new Error(`touchline generate failed (${code}): ${output}`);
  return join(dir, 'events');
}

export interface Load {
  readonly messages: readonly EncodedMessage[];
  /** Garbage records mixed in (each must be dead-lettered exactly once). */
  readonly garbage: number;
  /** Rows of the dataset no Avro producer could encode (not sent; replay rejects them too). */
  readonly refused: number;
}

/** The dataset's records, encoded, with `garbage` bad records spread evenly among them. */
export async function encodeLoad(
  events: string,
  topics: TopicNames,
  registryUrl: string,
  garbage: number,
): Promise<Load> {
  const { messages, refused } = readMessages(events, QUIET, topics);
  const codec = await createAvroCodec(createSchemaRegistry(registryUrl), topics);
  const encoded = await encodeMessages(codec, messages);
  const out: EncodedMessage[] = [];
  const every = Math.max(1, Math.floor(encoded.length / (garbage + 1)));
  let made = 0;
  for (let i = 0; i < encoded.length; i += 1) {
    const message = encoded[i];
    if (message === undefined) continue;
    if (i > 0 && i % every === 0 && made < garbage) {
      made += 1;
      const key = await codec.encodeKey(topics.touchpoints, { contact_id: `CHAOS-G${made}` });
      // Odd ones: no magic byte (undecodable). Even ones: magic byte + a schema id nobody registered.
      const value =
        made % 2 === 1
          ? Buffer.from(`chaos garbage ${made}`)
          : Buffer.concat([Buffer.from([0, 0, 0x0f, 0x42, 0x3f]), Buffer.from(`unknown schema ${made}`)]);
      out.push({ topic: topics.touchpoints, key, value, eventTime: message.eventTime });
    }
    out.push(message);
  }
  return { messages: out, garbage: made, refused };
}

/** A producer that outlives a broker restart: idempotent, retrying for a long time. */
export function loadProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 60, initialRetryTime: 200, maxRetryTime: 2000 },
  });
}

/**
 * Sends everything at `rate` records/s (each tick sends what is due, so a slow send is caught
 * up, never dropped). A send that fails, or hangs for 20 s (kafkajs's idempotent producer was
 * seen to hang for good after a broker restart), is sent again by a new producer: that chunk
 * may then be in the log twice (`resumes` says how often).
 */
export async function sendLoad(
  kafka: Kafka,
  messages: readonly EncodedMessage[],
  rate: number,
  onSent: (sent: number) => void = () => undefined,
): Promise<{ seconds: number; resumes: number; producer: Producer }> {
  const started = Date.now();
  let producer = loadProducer(kafka);
  await producer.connect();
  let sent = 0;
  let resumes = 0;
  while (sent < messages.length) {
    const due = Math.min(messages.length, Math.floor(((Date.now() - started) / 1000) * rate));
    if (due > sent) {
      const chunk = messages.slice(sent, Math.min(due, sent + 2000));
      try {
        await withTimeout(sendBatch(producer, chunk), 20_000);
        sent += chunk.length;
        onSent(sent);
      } catch {
        resumes += 1;
        const stuck = producer;
        void withTimeout(stuck.disconnect(), 5000).catch(() => undefined);
        producer = loadProducer(kafka);
        await producer.connect().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { seconds: (Date.now() - started) / 1000, resumes, producer };
}
