"""Engagement and sentiment: email opens and clicks by week and campaign, how fast inbound
messages get a reply, the sentiment trend per account, and the accounts that need a look.

Columns this page reads:

- `marts.fct_touchpoints_daily`, touchpoints added up per day: event_type ('email_open',
  'email_click', ...), occurred_date, campaign, touchpoints.
- `marts.fct_account_engagement_daily`, interactions added up per day, account and rep
  (user_id: the team and rep filters): analysed (messages with a sentiment score, -1..1),
  sentiment_sum, negative_messages, unanswered_inbound; the account's name from
  `marts.dim_accounts`.
- `marts.fct_interactions`, one row per interaction, for the last days only (inbound
  messages too young to flag as unanswered): account_id, user_id, direction, occurred_at,
  occurred_date, hours_to_reply (null while unanswered).
- `marts.fct_response_times_daily`, inbound messages added up per day and rep:
  occurred_date, user_id, inbound, answered, reply_hours_sum.
"""

import plotly.express as px
import streamlit as st

from dashboards.data import download, query, ready
from dashboards.filters import choice, date_range, frame_options, owner_clause, owners

#: An account whose mean sentiment in the period is below this is flagged.
NEGATIVE_SENTIMENT = -0.2
#: Inbound messages unanswered for longer than this are flagged.
UNANSWERED_HOURS = 48
#: Accounts drawn in the sentiment trend when none is picked.
TREND_ACCOUNTS = 8
MISSING_INTERACTIONS = ("The account engagement mart (marts.fct_account_engagement_daily) "
                        "has not been built yet: run the dbt assets in Dagster.")
MISSING_RESPONSES = ("The response times mart (marts.fct_response_times_daily) has not been "
                     "built yet: run the dbt assets in Dagster.")

EMAIL_SQL = """
    select date_trunc('week', occurred_date)::date as week,
           coalesce(sum(touchpoints) filter (where event_type = 'email_open'), 0)::bigint
               as opens,
           coalesce(sum(touchpoints) filter (where event_type = 'email_click'), 0)::bigint
               as clicks
    from marts.fct_touchpoints_daily
    where occurred_date between :start and :end
      and event_type in ('email_open', 'email_click')
      and (cardinality(cast(:campaigns as text[])) = 0
           or campaign = any(cast(:campaigns as text[])))
    group by 1 order by 1"""

CAMPAIGNS_SQL = """
    select distinct campaign from marts.fct_touchpoints_daily
    where event_type in ('email_open', 'email_click')"""

NAMED = "join marts.dim_accounts a on a.account_id = g.account_id"

#: From the day x rep mart: a few rows a day instead of every message, so the reply time is
#: an average (exact over any range: the hours summed over the answered messages).
RESPONSE_SQL = """
    select date_trunc('week', occurred_date)::date as week, sum(inbound)::bigint as inbound,
           sum(answered)::bigint as answered,
           (sum(reply_hours_sum) / nullif(sum(answered), 0))::float8 as avg_response_hours
    from marts.fct_response_times_daily
    where occurred_date between :start and :end and """ + owner_clause("user_id") + """
    group by 1 order by 1"""

#: Per account, from the day x account x rep mart: its analysed messages (the account
#: filter's options, busiest first) and what flags it: a low mean sentiment, and inbound
#: messages left unanswered, less those too young to flag (looked up message by message in
#: the last days only).
ENGAGEMENT = """
    from marts.fct_account_engagement_daily
    where occurred_date between :start and :end and """ + owner_clause("user_id")
TOO_YOUNG = """
    select account_id, -count(*) as unanswered_inbound
    from marts.fct_interactions
    where occurred_date between :start and :end and """ + owner_clause("user_id") + """
      and occurred_date >= (now() - make_interval(hours => :hours))::date - 1
      and occurred_at >= now() - make_interval(hours => :hours)
      and direction = 'inbound' and hours_to_reply is null and account_id is not null
    group by account_id"""
ACCOUNTS_SQL = """
    select a.account_name, g.analysed, g.mean_sentiment, g.negative_messages,
           g.unanswered_inbound
    from (select account_id, sum(analysed)::bigint as analysed,
                 (sum(sentiment_sum) / nullif(sum(analysed), 0))::float8 as mean_sentiment,
                 sum(negative_messages)::bigint as negative_messages,
                 sum(unanswered_inbound)::bigint as unanswered_inbound
          from (select account_id, analysed, sentiment_sum, negative_messages,
                       unanswered_inbound""" + ENGAGEMENT + """
                union all
                select account_id, 0, null, 0, unanswered_inbound
                from (""" + TOO_YOUNG + """) y) d
          group by account_id) g
    """ + NAMED + """
    where a.account_name is not null
    order by 2 desc, 1"""

#: The picked accounts' mean sentiment by week.
SENTIMENT_SQL = """
    select a.account_name, g.week, g.sentiment, g.analysed
    from (select account_id, date_trunc('week', occurred_date)::date as week,
                 (sum(sentiment_sum) / sum(analysed))::float8 as sentiment,
                 sum(analysed)::bigint as analysed""" + ENGAGEMENT + """
            and analysed > 0
            and account_id in (select account_id from marts.dim_accounts
                               where account_name = any(cast(:accounts as text[])))
          group by 1, 2) g
    """ + NAMED + """
    order by 1, 2"""

st.title("Engagement and sentiment")

start, end = date_range("Between")
params = {"start": start, "end": end, "owners": owners(),
          "campaigns": choice("Campaign", "campaign",
                              frame_options(query(CAMPAIGNS_SQL), "campaign"))}

st.subheader("Email engagement")
email = query(EMAIL_SQL, params)
if ready(email, "email engagement", "No email opens or clicks in this period."):
    email["click_to_open"] = email.clicks / email.opens.where(email.opens > 0)
    c1, c2, c3 = st.columns(3)
    c1.metric("Opens", f"{email.opens.sum():,}")
    c2.metric("Clicks", f"{email.clicks.sum():,}")
    c3.metric("Click-to-open", f"{email.clicks.sum() / email.opens.sum():.0%}"
              if email.opens.sum() else "n/a")
    st.plotly_chart(px.line(email, x="week", y=["opens", "clicks"], markers=True),
                    width="stretch")
    download(email, "email_engagement")

st.subheader("Response times")
responses = query(RESPONSE_SQL, params)
if ready(responses, "inbound messages", "No inbound messages in this period.",
         missing=MISSING_RESPONSES):
    st.plotly_chart(px.bar(responses, x="week", y="avg_response_hours",
                           hover_data=["inbound", "answered"]), width="stretch")
    st.dataframe(responses, hide_index=True, width="stretch")
    download(responses, "response_times")

st.subheader("Sentiment trend per account")
by_account = query(ACCOUNTS_SQL, {**params, "hours": UNANSWERED_HOURS})
analysed = by_account[by_account.analysed > 0] if "analysed" in by_account else by_account
if ready(analysed, "analysed messages", "No message in this period has a sentiment yet.",
         missing=MISSING_INTERACTIONS):
    accounts = choice("Account", "account", sorted(analysed.account_name))
    if not accounts:
        accounts = analysed.account_name.head(TREND_ACCOUNTS).tolist()
        st.caption(f"The {len(accounts)} accounts with the most analysed messages; pick "
                   "others in the sidebar.")
    shown = query(SENTIMENT_SQL, {**params, "accounts": accounts})
    st.plotly_chart(px.line(shown, x="week", y="sentiment", color="account_name",
                            markers=True, range_y=[-1, 1]), width="stretch")
    st.dataframe(shown, hide_index=True, width="stretch")
    download(shown, "sentiment_by_account")

st.subheader("Alerts")
st.caption(f"Accounts whose mean sentiment is below {NEGATIVE_SENTIMENT}, or with inbound "
           f"messages unanswered for more than {UNANSWERED_HOURS} hours.")
alerts = by_account
if "analysed" in by_account:
    alerts = (by_account[(by_account.mean_sentiment < NEGATIVE_SENTIMENT)
                         | (by_account.unanswered_inbound > 0)]
              .drop(columns="analysed")
              .sort_values("mean_sentiment", na_position="last", kind="stable"))
if ready(alerts, "alerts", "No account needs attention.", missing=MISSING_INTERACTIONS):
    st.dataframe(alerts, hide_index=True, width="stretch")
    download(alerts, "engagement_alerts")
