import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
  readonly reason: string;
  readonly detail: string;
  /** The value to dead-letter instead of the original bytes (personal data protected). */
  readonly protectedValue?: Buffer;
}

/**
 * A rejected record for the dead-letter topic: the original key, value and headers untouched,
 * plus Kafka Connect's error headers naming where it came from and why it was refused, so the
 * usual DLQ tooling reads it and a fixed record can be replayed to its source.
 */
export function toDeadLetterMessage(letter: DeadLetter): Message {
  const headers: IHeaders = { ...(letter.message.headers ?? {}) };
  headers['__connect.errors.topic'] = letter.topic;
  headers['__connect.errors.partition'] = String(letter.partition);
  headers['__connect.errors.offset'] = letter.message.offset;
  headers['__connect.errors.stage'] =
    letter.reason === 'undecodable' || letter.reason === 'unknown_schema'
      ? 'VALUE_CONVERTER'
      : 'TRANSFORMATION';
  headers['__connect.errors.exception.class.name'] = `touchline.${letter.reason}`;
  headers['__connect.errors.exception.message'] = letter.detail;
  headers['touchline.error.reason'] = letter.reason;
  if (letter.protectedValue !== undefined) headers['touchline.pii'] = 'email-protected';
  return {
    key: letter.message.key,
    value: letter.protectedValue ?? letter.message.value,
    headers,
    timestamp: letter.message.timestamp,
  };
}
