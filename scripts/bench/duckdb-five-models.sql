-- Batch-replay benchmark, DuckDB side: the five models of SPEC.md over the challenge CSVs, the
-- way a DuckDB user would write them. Run by scripts/bench/duckdb-runner.ts, which replaces
-- {contacts}, {marketing}, {sales}, {opportunities} with read_csv(...) calls (every column as
-- text), {window_ms} and {half_life_ms} with numbers. Statements are separated by ';' at the
-- end of a line. Times are epoch milliseconds (BIGINT), as in Touchline.
--
-- Cleaning refuses what Touchline refuses: missing or literal-null fields, unknown channel or
-- segment spellings, instants that are not explicit ISO-8601 UTC/offset instants or not real
-- calendar dates, non-decimal or negative amounts, touches of contacts that never came. Same id
-- twice: the smallest content is kept (Touchline's conflict rule; exact redeliveries collapse).
--
-- Models: window created_at − W ≤ occurred_at ≤ created_at (inclusive); touches ordered by
-- (occurred_at, touchpoint_id): first_touch = first, last_touch = last, linear = 1/n,
-- u_shaped 40/20/40 (1 touch 100 %, 2 touches 50/50), time_decay 2^(−Δ/H) normalised; no
-- eligible touch → Unattributed. first/last are summed exactly (DECIMAL(38,9)); the split
-- models multiply the amount by a DOUBLE share, so their cells carry floating-point error
-- (far below a cent), where Touchline splits each opportunity exactly to the nano. {decimal} is
-- DECIMAL(38, 9) (exact for any amount, 128-bit) or DECIMAL(18, 9) (64-bit, amounts < 10^9):
-- see --duckdb-decimal in scripts/bench-replay.ts.

CREATE MACRO field(t) AS CASE WHEN lower(trim(t)) IN ('', 'null') THEN NULL ELSE trim(t) END;
CREATE MACRO squash(t) AS replace(replace(replace(lower(trim(t)), ' ', ''), '_', ''), '-', '');
CREATE MACRO instant_ms(t) AS CASE
  WHEN regexp_full_match(trim(t), '\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)')
  THEN epoch_ms(try_cast(trim(t) AS TIMESTAMPTZ))
END;

CREATE TABLE channel_vocab AS SELECT * FROM (VALUES {channel_values}) v(spelling, name);
CREATE TABLE segment_vocab AS SELECT * FROM (VALUES {segment_values}) v(spelling, name);

CREATE TABLE contacts AS
SELECT DISTINCT ON (contact_id) contact_id, account_id
FROM (SELECT field(contact_id) AS contact_id, field(account_id) AS account_id FROM {contacts})
WHERE contact_id IS NOT NULL
ORDER BY contact_id, coalesce(account_id, '');

CREATE TABLE touches AS
WITH parsed AS (
  SELECT field(s.touchpoint_id) AS touchpoint_id, field(s.contact_id) AS contact_id, v.name AS channel,
         instant_ms(s.occurred_at) AS occurred_at, 'marketing' AS source
  FROM {marketing} s LEFT JOIN channel_vocab v ON v.spelling = squash(s.channel)
  UNION ALL
  SELECT field(s.touchpoint_id), field(s.contact_id), v.name, instant_ms(s.occurred_at), 'sales'
  FROM {sales} s LEFT JOIN channel_vocab v ON v.spelling = squash(s.channel)
)
SELECT DISTINCT ON (touchpoint_id) touchpoint_id, contact_id, channel, occurred_at
FROM parsed t
WHERE touchpoint_id IS NOT NULL AND contact_id IS NOT NULL AND channel IS NOT NULL AND occurred_at IS NOT NULL
  AND contact_id IN (SELECT contact_id FROM contacts)
ORDER BY touchpoint_id, contact_id, channel, occurred_at, source;

CREATE TABLE opportunities AS
SELECT DISTINCT ON (opportunity_id) opportunity_id, account_id, amount::{decimal} AS amount, created_at, sales_segment
FROM (
  SELECT field(s.opportunity_id) AS opportunity_id, field(s.account_id) AS account_id, field(s.amount) AS amount,
         instant_ms(s.created_at) AS created_at, v.name AS sales_segment
  FROM {opportunities} s LEFT JOIN segment_vocab v ON v.spelling = squash(s.sales_segment)
)
WHERE opportunity_id IS NOT NULL AND account_id IS NOT NULL AND created_at IS NOT NULL AND sales_segment IS NOT NULL
  AND regexp_full_match(amount, '\d+(\.\d{1,9})?')
ORDER BY opportunity_id, account_id, amount, created_at, sales_segment;

-- The answer: one row per (model, channel, segment).
WITH eligible AS (
  SELECT o.opportunity_id, o.sales_segment, o.amount, t.channel,
         row_number() OVER w AS rn,
         count(*) OVER p AS n,
         pow(2, -(o.created_at - t.occurred_at) / {half_life_ms}::DOUBLE) AS decay
  FROM opportunities o
  JOIN contacts c ON c.account_id = o.account_id
  JOIN touches t ON t.contact_id = c.contact_id
   AND t.occurred_at BETWEEN o.created_at - {window_ms} AND o.created_at
  WINDOW p AS (PARTITION BY o.opportunity_id),
         w AS (PARTITION BY o.opportunity_id ORDER BY t.occurred_at, t.touchpoint_id)
),
shared AS (
  SELECT *, decay / sum(decay) OVER (PARTITION BY opportunity_id) AS decay_share FROM eligible
),
credits AS (
  SELECT 'first_touch' AS model, opportunity_id, channel, sales_segment, amount AS exact, NULL::DOUBLE AS share
  FROM shared WHERE rn = 1
  UNION ALL
  SELECT 'last_touch', opportunity_id, channel, sales_segment, amount, NULL FROM shared WHERE rn = n
  UNION ALL
  SELECT 'linear', opportunity_id, channel, sales_segment, NULL, amount::DOUBLE / n FROM shared
  UNION ALL
  SELECT 'u_shaped', opportunity_id, channel, sales_segment, NULL,
         amount::DOUBLE * CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5 WHEN rn = 1 OR rn = n THEN 0.4 ELSE 0.2 / (n - 2) END
  FROM shared
  UNION ALL
  SELECT 'time_decay', opportunity_id, channel, sales_segment, NULL, amount::DOUBLE * decay_share FROM shared
  UNION ALL
  SELECT m.model, o.opportunity_id, 'Unattributed', o.sales_segment, o.amount, NULL
  FROM opportunities o
  CROSS JOIN (VALUES ('first_touch'), ('last_touch'), ('linear'), ('u_shaped'), ('time_decay')) m(model)
  WHERE o.opportunity_id NOT IN (SELECT opportunity_id FROM eligible)
)
SELECT model, channel, sales_segment,
       sum(exact)::VARCHAR AS exact_amount,
       coalesce(sum(share), sum(exact)::DOUBLE) AS float_amount,
       count(DISTINCT opportunity_id)::INTEGER AS opportunities
FROM credits
GROUP BY ALL
ORDER BY model, channel, sales_segment;
