-- A credited touchpoint happened in its conversion's window (the lookback window of a lead
-- conversion, the conversion window of a won deal), never after the conversion, and its
-- credit is in (0, 1]: returns the rows that break this.
select *
from {{ ref('fct_attribution') }}
where touchpoint_id is not null
  and (
      touched_at > converted_at
      or touched_at < converted_at - case conversion_type
          when 'lead' then interval '{{ var("attribution_lookback_days") | int }} days'
          else interval '{{ var("attribution_conversion_window_days") | int }} days' end
      or credit <= 0
      or credit > 1
  )
