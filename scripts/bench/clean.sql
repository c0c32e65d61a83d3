-- Batch-replay benchmark, Postgres side: from the text staging tables (filled by \copy from the
-- challenge CSVs) to typed, cleaned tables, refusing the rows Touchline refuses: missing/null
-- contact, unknown contact, unparseable or impossible date, negative or non-numeric amount,
-- unknown channel/segment text; exact redeliveries are kept once. Runs with
-- search_path = bench_replay; all of it is part of the timed LOAD.
--
-- Written for speed as well as for exactness: the helper functions are plain SQL expressions
-- that the planner inlines (a SQL function that is not inlined costs ~20 µs a call), tables are
-- built with CREATE TABLE AS (which, unlike INSERT ... SELECT on Postgres 15, runs in parallel),
-- and the parsed values are materialised once before filtering, since Postgres would otherwise
-- evaluate the date parsing twice (in the filter and in the output).

-- A field as Touchline's textOf() sees it: trimmed; '' and the literal null (any case) are missing.
CREATE FUNCTION field(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN lower(btrim(t, E' \t\r\n')) IN ('', 'null') THEN NULL ELSE btrim(t, E' \t\r\n') END
$$;

-- Vocabulary spelling key, as catalog.ts squash(): lower case without blanks, '_' or '-'.
CREATE FUNCTION squash(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT translate(lower(t), E' \t\r\n_-', '')
$$;

-- u has the shape yyyy-mm-dd?hh:mi:ss[.f][zone] in digits: check the ranges as parseInstant()
-- does (month, day of that month, hour ≤ 23, minute and second ≤ 59), then cast. The nested
-- CASE guarantees nothing is cast (which would raise an error) before it is known to be sound.
CREATE FUNCTION checked_instant(u text) RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN substr(u, 6, 2) BETWEEN '01' AND '12' AND substr(u, 9, 2) BETWEEN '01' AND '31'
     AND substr(u, 12, 2) <= '23' AND substr(u, 15, 2) <= '59' AND substr(u, 18, 2) <= '59'
    THEN CASE
      WHEN substr(u, 9, 2) <= '28'
        OR substr(u, 9, 2)::int <= extract(day FROM make_date(greatest(left(u, 4)::int, 1), substr(u, 6, 2)::int, 1)
                                                   + interval '1 month' - interval '1 day')
      THEN u::timestamptz
    END
  END
$$;

-- An explicit ISO-8601 instant (zone required) as time.ts parseInstant() accepts it, else NULL.
-- Fast path without regular expressions for the common shapes (digits mapped to 0 by translate);
-- the general pattern (blanks around, numeric offsets, 1-9 fraction digits, ' ' for 'T') by
-- regex. Digits past the millisecond are dropped: Touchline keeps milliseconds, truncating.
CREATE FUNCTION instant(t text) RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN translate(t, '123456789', '000000000') IN ('0000-00-00T00:00:00.000Z', '0000-00-00T00:00:00Z')
      THEN checked_instant(t)
    WHEN t ~ '^\s*\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)\s*$'
      THEN checked_instant(regexp_replace(btrim(t, E' \t\r\n'), '(\.\d{3})\d+', '\1'))
  END
$$;

-- Parsed once; NULL where a value is missing or refused.
CREATE UNLOGGED TABLE parsed_touches AS
SELECT field(s.touchpoint_id) AS touchpoint_id, field(s.contact_id) AS contact_id, v.name AS channel,
       instant(s.occurred_at) AS occurred_at, 'marketing' AS source
FROM stg_marketing s LEFT JOIN channel_vocab v ON v.spelling = squash(s.channel)
UNION ALL
SELECT field(s.touchpoint_id), field(s.contact_id), v.name, instant(s.occurred_at), 'sales'
FROM stg_sales s LEFT JOIN channel_vocab v ON v.spelling = squash(s.channel);

CREATE UNLOGGED TABLE parsed_opportunities AS
SELECT field(s.opportunity_id) AS opportunity_id, field(s.account_id) AS account_id, field(s.amount) AS amount,
       instant(s.created_at) AS created_at, v.name AS sales_segment
FROM stg_opportunities s LEFT JOIN segment_vocab v ON v.spelling = squash(s.sales_segment);

-- Contacts: one row per id. Same id twice without versions (the CSV has none) is a conflict,
-- and Touchline keeps the smaller account text ('' for none), so this does too.
CREATE TABLE contacts AS
SELECT DISTINCT ON (contact_id) contact_id::text COLLATE "C" AS contact_id, account_id::text COLLATE "C" AS account_id
FROM (SELECT field(contact_id) AS contact_id, field(account_id) AS account_id FROM stg_contacts) s
WHERE contact_id IS NOT NULL
ORDER BY contact_id, coalesce(account_id, '') COLLATE "C";
ANALYZE contacts;

-- Touches: id, contact, known channel and a valid instant, and a contact that exists.
-- Exact redeliveries collapse to one row (for conflicting ones, the smallest content is kept).
CREATE TABLE touches AS
SELECT DISTINCT ON (touchpoint_id) touchpoint_id::text COLLATE "C" AS touchpoint_id, contact_id::text COLLATE "C" AS contact_id,
       channel, occurred_at, source
FROM parsed_touches t
WHERE touchpoint_id IS NOT NULL AND contact_id IS NOT NULL AND channel IS NOT NULL AND occurred_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM contacts c WHERE c.contact_id = t.contact_id)
ORDER BY touchpoint_id, contact_id COLLATE "C", channel COLLATE "C", occurred_at, source;

-- Opportunities: id, account, a non-negative decimal amount (≤ 9 decimals), instant, known segment.
CREATE TABLE opportunities AS
SELECT DISTINCT ON (opportunity_id) opportunity_id::text COLLATE "C" AS opportunity_id, account_id::text COLLATE "C" AS account_id,
       amount::numeric AS amount, created_at, sales_segment
FROM parsed_opportunities
WHERE opportunity_id IS NOT NULL AND account_id IS NOT NULL AND created_at IS NOT NULL AND sales_segment IS NOT NULL
  AND amount ~ '^\d+(\.\d{1,9})?$'
ORDER BY opportunity_id, account_id COLLATE "C", amount COLLATE "C", created_at, sales_segment COLLATE "C";

DROP TABLE parsed_touches, parsed_opportunities;
