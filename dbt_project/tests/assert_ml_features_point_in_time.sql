-- The ML feature views of deals and actions (deal_features, deal_stage_features,
-- action_record_features, action_event_features) place every fact at the time it became
-- known, so that a snapshot at a moment T can leave out what came after. Fails on an
-- outcome without the time it became known (a closed, won or booked deal without
-- closed_at: no snapshot could leave it out); an inferred stage entry that dates a closed
-- deal's closing stage at its creation; a live deal that the two models see close at
-- different times.
select 'deal outcome without closed_at' as failure, deal_id::text as failing_key
from {{ ref('deal_features') }}
where closed_at is null and (is_closed or is_won or booked_amount is not null)

union all

select 'closing stage inferred at creation', entries.deal_id::text
from {{ ref('deal_stage_features') }} as entries
inner join {{ ref('stg_app__deals') }} as deals on deals.deal_id = entries.deal_id
inner join {{ ref('stg_app__stages') }} as stages on stages.stage_id = deals.stage_id
where entries.is_inferred and stages.is_closed and entries.stage_name = stages.stage_name

union all

select 'deal closed at different times for the two models', deals.deal_id::text
from {{ ref('deal_features') }} as deals
inner join {{ ref('action_record_features') }} as records on records.deal_id = deals.deal_id
where records.closed_at is distinct from deals.closed_at
