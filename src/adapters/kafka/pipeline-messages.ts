import type { Message } from 'kafkajs';
import type { AttributionRevision } from '../../app/ports.js';
import type { AvroCodec } from './avro-codec.js';

/**
 * One attribution.pipeline.v1 record per (opportunity, model) revision, keyed by both so
 * compaction keeps the latest answer of each. A deleted opportunity is a tombstone (null
 * value); the revision and reason also ride in headers, so tombstones carry them too.
 */
export async function toPipelineMessages(
  codec: AvroCodec,
  topic: string,
  revisions: readonly AttributionRevision[],
  /** The reporting currency, which pipeline_amount and the credits are in. */
  reportingCurrency: string | null = null,
): Promise<Message[]> {
  return Promise.all(
    revisions.map(async (revision) => {
      const key = await codec.encodeKey(topic, {
        opportunity_id: revision.opportunityId,
        model: revision.model,
      });
      const attribution = revision.attribution;
      const result = attribution?.results.find((r) => r.model === revision.model);
      const value =
        attribution === null || result === undefined
          ? null
          : await codec.encodeValue(topic, {
              opportunity_id: attribution.opportunityId,
              model: revision.model,
              revision: revision.revision,
              reason: revision.reason,
              account_id: attribution.accountId,
              sales_segment: attribution.segment,
              pipeline_amount: attribution.amount,
              opportunity_created_at: attribution.createdAt,
              credits: result.credits.map((credit) => ({
                touchpoint_id: credit.touchpointId,
                channel: credit.channel,
                occurred_at: credit.occurredAt,
                amount: credit.amount,
                campaign: credit.campaign ?? null,
              })),
              pipeline_currency: reportingCurrency,
              original_amount: attribution.original?.amount ?? null,
              original_currency: attribution.original?.currency ?? null,
              fx_rate: attribution.original?.rate ?? null,
              fx_rate_date: attribution.original?.rateDate ?? null,
              channel_rules_version: attribution.rulesVersion ?? null,
            });
      return {
        key,
        value,
        headers: {
          'touchline.revision': String(revision.revision),
          'touchline.reason': revision.reason,
          'touchline.model': revision.model,
        },
      };
    }),
  );
}
