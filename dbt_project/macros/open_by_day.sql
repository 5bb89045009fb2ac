{#
    int_deals__open_by_day's incremental run, before its select (a pre-hook, in the model's
    transaction): which days it recomputes, for which deals, and the held rows of those
    deleted (a deal that left the pipeline has no new row to replace its old one; the new
    rows are appended). Its one home; the select reads the two temporary tables.

    open_by_day_plan: the last day held, and whether as_of is still on it (`same_day`).
    On a later day the run recomputes the last day held, for every deal, and adds the days
    since. On the same day it recomputes that day for the deals in open_by_day_changed:
    those written since its xid mark (app deals and stage history, a deleted deal among
    them), and those whose fct_deals or int_deals__stage_history_sequenced rows were
    written since its last run (a stage, owner, account, campaign, currency or age that
    changed). The other deals' rows are what they were: age_days and snapshot_at, which
    move with time alone, are the view's (fct_pipeline_daily_snapshot).
#}
{% macro open_by_day_prepare() -%}
{%- if is_incremental() -%}
create temporary table open_by_day_plan on commit drop as
select
    max(snapshot_date) as last_day,
    coalesce(max(snapshot_date) = ({{ as_of() }})::date, false) as same_day
from {{ this }};

create temporary table open_by_day_changed on commit drop as
select changed.deal_id from (

    {{ deals_written_since_mark() }}

    union

    select deals.deal_id from {{ ref('fct_deals') }} as deals
    where {{ written_since_last_run('deals') }}

    union

    select history.deal_id from {{ ref('int_deals__stage_history_sequenced') }} as history
    where {{ written_since_last_run('history') }}

) as changed (deal_id)
where (select open_by_day_plan.same_day from open_by_day_plan);

analyze open_by_day_changed;

-- by the (snapshot_date, deal_id) index, a probe per changed deal (the changed deals
-- analyzed, the day a scalar): the plans that joined the temporary tables read every day
-- held (3.3-47 s at 1,000,000 contacts)
delete from {{ this }} as held
using open_by_day_changed
where held.snapshot_date = (select open_by_day_plan.last_day from open_by_day_plan)
  and held.deal_id = open_by_day_changed.deal_id;

delete from {{ this }} as held
where held.snapshot_date = (select open_by_day_plan.last_day from open_by_day_plan)
  and not (select open_by_day_plan.same_day from open_by_day_plan)
{%- endif -%}
{%- endmacro %}

{# The deals the select recomputes (`relation`, fct_deals): every deal, or on the same day
   the changed ones, by its index (two branches, one of them empty: a condition with an
   "or" would read every deal). #}
{% macro open_by_day_deals(relation) -%}
    select * from {{ relation }}
    {%- if is_incremental() %}
    where not (select open_by_day_plan.same_day from open_by_day_plan)

    union all

    select * from {{ relation }}
    where deal_id = any(array(select open_by_day_changed.deal_id from open_by_day_changed))
    {%- endif %}
{%- endmacro %}
