-- first_touch per (channel, sales_segment), SPEC rule: touches of every contact of the
-- opportunity's account, eligible when created_at − window ≤ occurred_at ≤ created_at (both
-- inclusive, window in exact milliseconds: $1); the earliest wins, ties → smallest touchpoint id
-- (code-unit order, COLLATE "C"); no eligible touch → 'Unattributed'. Amounts exact (numeric).
SELECT coalesce(ft.channel, 'Unattributed') AS channel,
       o.sales_segment,
       sum(o.amount)::text AS pipeline_amount,
       count(*)::int AS opportunities
FROM opportunities o
LEFT JOIN LATERAL (
  SELECT t.channel
  FROM contacts c
  JOIN touches t ON t.contact_id = c.contact_id
  WHERE c.account_id = o.account_id
    AND t.occurred_at BETWEEN o.created_at - $1::bigint * interval '1 millisecond' AND o.created_at
  ORDER BY t.occurred_at, t.touchpoint_id
  LIMIT 1
) ft ON true
GROUP BY 1, 2
ORDER BY 1, 2
