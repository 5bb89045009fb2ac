-- Inbound messages added up per day and rep: how many came in, how many got a reply, and
-- the hours until the reply summed (so any range of days and reps gives an exact average).
-- What the dashboards' response times read, so a page never scans every interaction on
-- every view. A row per day and rep instead of one per message.
{{
    config(
        indexes=[
            {'columns': ['occurred_date']},
        ],
    )
}}

with

inbound as (

    select
        occurred_date,
        user_id,
        hours_to_reply
    from {{ ref('fct_interactions') }}
    where direction = 'inbound' and occurred_date is not null

)

select
    occurred_date,
    user_id,
    count(*)::bigint as inbound,
    count(hours_to_reply)::bigint as answered,
    coalesce(sum(hours_to_reply), 0)::float8 as reply_hours_sum
from inbound
group by occurred_date, user_id
