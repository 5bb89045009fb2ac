-- Interactions added up per day, account and rep: how many messages had a sentiment, their
-- scores summed, the negative ones, and the inbound ones still unanswered. What the
-- dashboards' Engagement page reads for its accounts, sentiment trend and alerts (exact
-- means over any range of days and reps), instead of every interaction's wide row.
-- Interactions without an account or a day are left out. Written in day order.
{{
    config(
        indexes=[
            {'columns': ['occurred_date']},
            {'columns': ['account_id', 'occurred_date']},
        ],
    )
}}

with

interactions as (

    select
        occurred_date,
        account_id,
        user_id,
        direction,
        hours_to_reply,
        sentiment_label,
        sentiment_score
    from {{ ref('fct_interactions') }}
    where account_id is not null and occurred_date is not null

)

select
    occurred_date,
    account_id,
    user_id,
    count(*)::int as interactions,
    count(sentiment_score)::int as analysed,
    sum(sentiment_score)::double precision as sentiment_sum,
    count(*) filter (where sentiment_label = 'negative')::int as negative_messages,
    count(*) filter (
        where direction = 'inbound' and hours_to_reply is null
    )::int as unanswered_inbound
from interactions
group by occurred_date, account_id, user_id
order by occurred_date
