-- A deal is in one stage at a time: returns the pairs of stage rows of one deal whose
-- [entered, exited) intervals overlap.
select
    earlier.deal_id,
    earlier.deal_stage_history_id as earlier_id,
    later.deal_stage_history_id as later_id
from {{ ref('fct_deal_stage_history') }} as earlier
inner join {{ ref('fct_deal_stage_history') }} as later
    on later.deal_id = earlier.deal_id
   and later.stage_sequence > earlier.stage_sequence
where tstzrange(earlier.entered_at, coalesce(earlier.exited_at, 'infinity'))
      && tstzrange(later.entered_at, coalesce(later.exited_at, 'infinity'))
