/**
 * Schema migrations, in order. Kept as TypeScript rather than .sql files so `npm run build`
 * (tsc only) ships them in dist/ without a copy step. Each runs once per schema, inside the
 * migration transaction with `SET LOCAL search_path` pointing at that schema, so names here are
 * unqualified. Never edit an applied migration: add the next one.
 */
export interface Migration {
  readonly id: string;
  readonly sql: string;
}

const attribution = `
-- One row per (opportunity, model): the current answer and its revision. A deleted opportunity
-- keeps its row (deleted, no answer) so its revision keeps growing if it comes back.
CREATE TABLE opportunity_answer (
  opportunity_id text NOT NULL,
  model text NOT NULL,
  revision integer NOT NULL CHECK (revision > 0),
  reason text NOT NULL,
  deleted boolean NOT NULL,
  account_id text,
  sales_segment text,
  amount numeric(38, 9),
  opportunity_created_at timestamptz,
  credits jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (opportunity_id, model),
  CONSTRAINT opportunity_answer_live_is_complete CHECK (
    deleted OR (account_id IS NOT NULL AND sales_segment IS NOT NULL AND amount IS NOT NULL
                AND opportunity_created_at IS NOT NULL)),
  CONSTRAINT opportunity_answer_tombstone_is_empty CHECK (
    NOT deleted OR (credits = '[]'::jsonb AND amount IS NULL))
);
CREATE INDEX opportunity_answer_account_idx ON opportunity_answer (account_id) WHERE NOT deleted;

-- The credit rows of each live answer, in the answer's order; touchpoint_id NULL = Unattributed.
CREATE TABLE attribution_credit (
  opportunity_id text NOT NULL,
  model text NOT NULL,
  ordinal integer NOT NULL,
  touchpoint_id text,
  channel text NOT NULL,
  sales_segment text NOT NULL,
  touch_occurred_at timestamptz,
  amount numeric(38, 9) NOT NULL CHECK (amount >= 0),
  PRIMARY KEY (opportunity_id, model, ordinal),
  FOREIGN KEY (opportunity_id, model) REFERENCES opportunity_answer ON DELETE CASCADE
);
-- Which opportunities a touch influenced, and what makes up one cell of the dashboard.
CREATE INDEX attribution_credit_touchpoint_idx ON attribution_credit (touchpoint_id) WHERE touchpoint_id IS NOT NULL;
CREATE INDEX attribution_credit_cell_idx ON attribution_credit (model, channel, sales_segment);

-- The channel x segment totals Grafana reads, moved by exact deltas in the same transaction as
-- the answers. A cell whose last opportunity leaves is deleted, so the table always equals the
-- batch report. No CHECK (>= 0) here: Postgres would apply it to the negative delta proposed by
-- INSERT ... ON CONFLICT before the conflict is found; the store checks the RETURNING row instead.
CREATE TABLE pipeline_by_channel_segment (
  model text NOT NULL,
  channel text NOT NULL,
  sales_segment text NOT NULL,
  pipeline_amount numeric(38, 9) NOT NULL,
  opportunity_count bigint NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (model, channel, sales_segment)
);
COMMENT ON TABLE pipeline_by_channel_segment IS
  'Attributed pipeline per model, channel and sales segment; maintained by touchline serve.';
`;

const oneCopyOfCredits = `
-- The credits were stored twice: as JSON in opportunity_answer.credits and as rows here, and
-- every restatement deleted and re-inserted the rows. One copy is kept (the JSON, which the
-- store compares answers with); the rows become a view over it, same columns, same order.
DROP TABLE attribution_credit;
CREATE VIEW attribution_credit AS
SELECT a.opportunity_id,
       a.model,
       (c.n - 1)::integer AS ordinal,
       c.v ->> 'touchpointId' AS touchpoint_id,
       c.v ->> 'channel' AS channel,
       a.sales_segment,
       timestamptz 'epoch' + ((c.v ->> 'occurredAt')::bigint / 1000) * interval '1 second'
         + ((c.v ->> 'occurredAt')::bigint % 1000) * interval '1 millisecond' AS touch_occurred_at,
       (c.v ->> 'amount')::numeric(38, 9) AS amount
  FROM opportunity_answer a
       CROSS JOIN LATERAL jsonb_array_elements(a.credits) WITH ORDINALITY AS c(v, n)
 WHERE NOT a.deleted;
COMMENT ON VIEW attribution_credit IS
  'One row per credited touch of each live answer (touchpoint_id NULL = Unattributed), derived from opportunity_answer.credits.';
`;

const reportingDimensions = `
-- SPEC "Reporting dimensions". An answer keeps its amount as given beside the converted one, and
-- the channel rules version of the revision that last changed it.
ALTER TABLE opportunity_answer
  ADD COLUMN original_amount numeric(38, 9),
  ADD COLUMN original_currency text,
  ADD COLUMN fx_rate numeric(36, 12),
  ADD COLUMN fx_rate_date date,
  ADD COLUMN channel_rules_version text;
COMMENT ON COLUMN opportunity_answer.amount IS 'In the reporting currency: what the credits sum to.';
COMMENT ON COLUMN opportunity_answer.original_amount IS
  'The amount as given, when converted from original_currency at fx_rate (the rate of fx_rate_date).';

-- The totals per local creation day (in the reporting time zone of reporting_calendar), beside
-- the all-time table, moved by the same exact deltas in the same transaction; a campaign-level
-- twin with campaign '' for credits without one. Periods (weeks, months, fiscal quarters) are
-- sums of days, so the dashboard's time range selects by created_day.
CREATE TABLE pipeline_by_day (
  model text NOT NULL,
  created_day date NOT NULL,
  channel text NOT NULL,
  sales_segment text NOT NULL,
  pipeline_amount numeric(38, 9) NOT NULL,
  opportunity_count bigint NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (model, created_day, channel, sales_segment)
);
CREATE INDEX pipeline_by_day_day_idx ON pipeline_by_day (created_day);
COMMENT ON TABLE pipeline_by_day IS
  'Attributed pipeline per model, opportunity creation day (reporting time zone), channel and sales segment.';

CREATE TABLE pipeline_by_campaign_day (
  model text NOT NULL,
  created_day date NOT NULL,
  channel text NOT NULL,
  campaign text NOT NULL,
  sales_segment text NOT NULL,
  pipeline_amount numeric(38, 9) NOT NULL,
  opportunity_count bigint NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (model, created_day, channel, campaign, sales_segment)
);
CREATE INDEX pipeline_by_campaign_day_day_idx ON pipeline_by_campaign_day (created_day);
COMMENT ON TABLE pipeline_by_campaign_day IS
  'Attributed pipeline per model, creation day, channel, campaign (empty = none) and sales segment.';

-- The time zone the per-day tables are kept in: one row, set when they are first filled.
CREATE TABLE reporting_calendar (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  time_zone text NOT NULL,
  updated_at timestamptz NOT NULL
);
`;

export const MIGRATIONS: readonly Migration[] = [
  { id: '001_attribution', sql: attribution },
  { id: '002_one_copy_of_credits', sql: oneCopyOfCredits },
  { id: '003_reporting_dimensions', sql: reportingDimensions },
];
