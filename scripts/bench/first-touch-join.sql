-- The same first_touch answer as first-touch-lateral.sql, set-based: join every opportunity to
-- every eligible touch, keep the first per opportunity (DISTINCT ON), then add back the
-- opportunities with none as 'Unattributed'. $1 = window in milliseconds.
WITH first AS (
  SELECT DISTINCT ON (o.opportunity_id) o.opportunity_id, t.channel
  FROM opportunities o
  JOIN contacts c ON c.account_id = o.account_id
  JOIN touches t ON t.contact_id = c.contact_id
   AND t.occurred_at BETWEEN o.created_at - $1::bigint * interval '1 millisecond' AND o.created_at
  ORDER BY o.opportunity_id, t.occurred_at, t.touchpoint_id
)
SELECT coalesce(f.channel, 'Unattributed') AS channel,
       o.sales_segment,
       sum(o.amount)::text AS pipeline_amount,
       count(*)::int AS opportunities
FROM opportunities o
LEFT JOIN first f USING (opportunity_id)
GROUP BY 1, 2
ORDER BY 1, 2
