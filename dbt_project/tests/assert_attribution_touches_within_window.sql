-- A credited touchpoint happened in the lookback window up to the conversion, never after it
-- and never before the window: returns the rows that break this.
select *
from {{ ref('fct_attribution') }}
where touchpoint_id is not null
  and (
      touched_at > converted_at
      or touched_at < converted_at - interval '{{ var("attribution_lookback_days") | int }} days'
      or credit <= 0
      or credit > 1
  )
