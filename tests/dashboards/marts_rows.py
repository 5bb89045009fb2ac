"""Hand-made marts, ml and ops rows that every dashboard test (and the browser test) reads.

The period used throughout is 2026-04-01..2026-06-30 (91 days); the previous period of
equal length is 2025-12-31..2026-03-31.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from salesops.warehouse import mart_statements

PERIOD = "2026-04-01..2026-06-30"
HALF_YEAR = "2026-01-01..2026-06-30"

DEALS = """
    create table marts.fct_deals as
    select d.*, case owner_team_id when 1 then 'East' else 'West' end as owner_team_name,
           case deal_id when 5 then 'EUR' else 'USD' end as currency,
           amount * case deal_id when 5 then 2 else 1 end as amount_reporting,
           weighted_amount * case deal_id when 5 then 2 else 1 end as weighted_amount_reporting
    from (values
        (1, 'One', 1, 'Ann', 1, 'Won', 6, 'closed', 1000, 0, 100, true, true,
         date '2026-01-10', date '2026-02-09', 30, 0, 'web'),
        (2, 'Two', 1, 'Ann', 1, 'Won', 6, 'closed', 2000, 0, 100, true, true,
         date '2026-04-05', date '2026-05-05', 30, 0, 'web'),
        (3, 'Three', 2, 'Bob', 2, 'Won', 6, 'closed', 3000, 0, 100, true, true,
         date '2026-03-01', date '2026-05-30', 90, 0, 'event'),
        (4, 'Four', 2, 'Bob', 2, 'Lost', 7, 'closed', 500, 0, 0, true, false,
         date '2026-04-10', date '2026-06-01', 52, 0, 'event'),
        (5, 'Five', 1, 'Ann', 1, 'Proposal', 3, 'commit', 2000, 1200, 60, false, false,
         date '2026-02-01', null, 300, 20, 'web'),
        (6, 'Six', 2, 'Bob', 2, 'Discovery', 1, 'pipeline', 1500, 150, 10, false, false,
         date '2026-05-01', null, 208, 5, 'event'),
        (7, 'Seven', 1, 'Ann', 1, 'Lost', 7, 'closed', 700, 0, 0, true, false,
         date '2026-01-20', date '2026-03-15', 54, 0, 'web')
    ) as d (deal_id, deal_name, owner_id, owner_name, owner_team_id, stage_name,
            stage_position,
            forecast_category, amount, weighted_amount, probability, is_closed, is_won,
            created_date, closed_date, age_days, days_in_current_stage, lead_source)"""

#: Lead 1 (April) reached SQL, lead 3 (June) was won, lead 4 (February) was an MQL.
LEADS = """
    create table marts.fct_leads as
    select lead_id::bigint, owner_id::bigint, company, title, lead_source, industry, status,
           created_at::timestamptz, is_converted, is_closed, closed_at::timestamptz,
           mql_at::timestamptz, sql_at::timestamptz, opportunity_at::timestamptz,
           won_at::timestamptz, score, score_band, score_probability::float8
    from (values
        (1, 1, 'Acme', 'CTO', 'web', 'software', 'working', '2026-04-02 10:00+00', false,
         false, null, '2026-04-04 10:00+00', '2026-04-08 10:00+00', null, null, 90, 'A', 0.8),
        (2, 2, 'Beta', 'CFO', 'event', 'retail', 'new', '2026-05-02 10:00+00', false, false,
         null, null, null, null, null, 40, 'C', 0.3),
        (3, 1, 'Gamma', 'CEO', 'web', 'software', 'converted', '2026-06-02 10:00+00', true,
         true, '2026-06-20 10:00+00', '2026-06-03 10:00+00', '2026-06-05 10:00+00',
         '2026-06-10 10:00+00', '2026-06-20 10:00+00', 70, 'B', 0.7),
        (4, 1, 'Delta', 'VP', 'web', 'retail', 'disqualified', '2026-02-02 10:00+00', false,
         true, '2026-03-01 10:00+00', '2026-02-10 10:00+00', null, null, null, 20, 'D', 0.15),
        (5, 2, 'Epsilon', 'Ops', 'event', 'software', 'new', '2026-03-02 10:00+00', false,
         false, null, null, null, null, null, null, null, null)
    ) as l (lead_id, owner_id, company, title, lead_source, industry, status, created_at,
            is_converted, is_closed, closed_at, mql_at, sql_at, opportunity_at, won_at,
            score, score_band, score_probability)"""

#: Converted leads (conversion_type 'lead') and won deals ('deal_won') are credited
#: separately: summing both would count the revenue twice. w_shaped has only deal rows.
ATTRIBUTION = """
    create table marts.attribution_by_channel as
    select model, conversion_type, channel, campaign, period::date, conversions::float8,
           revenue::numeric(16, 2), converted_leads, won_deals, credited_touchpoints
    from (values
        ('first_touch', 'lead', 'email', 'spring', '2026-04-01', 2, 3000, 2, 0, 2),
        ('first_touch', 'lead', 'paid_search', 'brand', '2026-05-01', 2, 2000, 2, 0, 2),
        ('linear', 'lead', 'email', 'spring', '2026-04-01', 1.5, 2500, 2, 0, 3),
        ('linear', 'lead', 'paid_search', 'brand', '2026-05-01', 1.5, 2500, 3, 0, 3),
        ('linear', 'lead', 'email', 'winter', '2025-06-01', 4, 100, 4, 0, 4),
        ('last_touch', 'lead', 'paid_search', 'brand', '2026-05-01', 3, 5000, 3, 0, 3),
        ('linear', 'deal_won', 'email', 'spring', '2026-05-01', 0.5, 1000, 0, 1, 2),
        ('linear', 'deal_won', 'paid_search', 'brand', '2026-05-01', 0.5, 1000, 0, 1, 2),
        ('w_shaped', 'deal_won', 'paid_search', 'brand', '2026-06-01', 2, 7000, 0, 2, 4)
    ) as a (model, conversion_type, channel, campaign, period, conversions, revenue,
            converted_leads, won_deals, credited_touchpoints)"""

#: Touchpoints added up per day (as the fct_touchpoints_daily model does).
TOUCHPOINTS = """
    create table marts.fct_touchpoints_daily as
    select occurred_date::date, channel, campaign, event_type, count(*) as touchpoints,
           coalesce(sum(cost), 0)::numeric(18, 2) as cost
    from (values
        ('email', 'spring', 'email_open', '2026-04-10', 500),
        ('paid_search', 'brand', 'ad_click', '2026-05-10', 1000),
        ('paid_search', 'brand', 'ad_click', '2026-05-11', 1000),
        ('display', 'retarget', 'session', '2026-05-12', 300),
        ('email', 'spring', 'email_click', '2026-05-13', null),
        ('email', 'winter', 'email_open', '2025-06-10', 50)
    ) as t (channel, campaign, event_type, occurred_date, cost)
    group by 1, 2, 3, 4"""

#: Spring and brand ran in the first half of 2026, winter in 2025; brand's cost is unknown.
CAMPAIGNS = """
    create table marts.fct_campaign_performance as
    select campaign_name, channel, status, start_date::date, end_date::date, leads,
           converted_leads, opportunities, won_deals, pipeline::numeric(18, 2),
           revenue::numeric(18, 2), cost::numeric(18, 2), cost_source,
           roi::numeric(12, 4)
    from (values
        ('Spring', 'email', 'completed', '2026-03-01', '2026-05-31', 10, 3, 2, 1, 5000,
         3000, 1000, 'actual_cost', 2.0),
        ('Brand', 'paid_search', 'running', '2026-01-01', null, 20, 4, 3, 2, 9000, 6000,
         null, null, null),
        ('Winter', 'email', 'completed', '2025-01-01', '2025-02-28', 5, 1, 1, 0, 100, 0, 50,
         'touchpoints', -1.0)
    ) as c (campaign_name, channel, status, start_date, end_date, leads, converted_leads,
            opportunities, won_deals, pipeline, revenue, cost, cost_source, roi)"""

#: Deal 2 went Discovery -> Proposal -> Won; deal 6 is in Proposal.
STAGE_HISTORY = """
    create table marts.fct_deal_stage_history as
    select deal_id, current_stage_name, stage_position, is_closed_stage, is_current,
           entered_at::timestamptz, exited_at::timestamptz, duration_days::numeric
    from (values
        (2, 'Discovery', 1, false, false, '2026-04-05', '2026-04-15', 10),
        (2, 'Proposal', 3, false, false, '2026-04-15', '2026-05-05', 20),
        (2, 'Won', 6, true, true, '2026-05-05', null, null),
        (6, 'Discovery', 1, false, false, '2026-05-01', '2026-05-11', 10),
        (6, 'Proposal', 3, false, true, '2026-05-11', null, 50)
    ) as h (deal_id, current_stage_name, stage_position, is_closed_stage, is_current,
            entered_at, exited_at, duration_days)"""

#: Open deals only. From 2026-04-30 to 2026-06-30: deals 2 and 3 won, 4 lost (fct_deals),
#: 5 grew by 500, 6 is new, 10 gone. Amounts are in the reporting currency but deal 5's and
#: 10's (EUR at a rate of 2: deal 5's 2,000 is 4,000 reported, deal 10's 100 is 200).
SNAPSHOTS = """
    create table marts.fct_pipeline_daily_snapshot as
    select snapshot_date::date, deal_id, owner_id::bigint, owner_id::bigint as owner_team_id,
           1::bigint as pipeline_id, stage_id::bigint, stage_name, stage_id as stage_position,
           forecast_category, probability, amount::numeric(16, 2),
           (amount * rate)::numeric(18, 2) as amount_reporting
    from (values
        ('2026-04-30', 2, 1, 4, 'Negotiate', 'commit', 80, 2000, 1),
        ('2026-04-30', 3, 2, 4, 'Negotiate', 'commit', 80, 3000, 1),
        ('2026-04-30', 4, 2, 1, 'Discovery', 'pipeline', 10, 500, 1),
        ('2026-04-30', 5, 1, 3, 'Proposal', 'best_case', 60, 2000, 2),
        ('2026-04-30', 10, 1, 1, 'Discovery', 'pipeline', 10, 100, 2),
        ('2026-05-15', 5, 1, 3, 'Proposal', 'commit', 60, 2100, 2),
        ('2026-06-30', 5, 1, 3, 'Proposal', 'commit', 60, 2250, 2),
        ('2026-06-30', 6, 2, 1, 'Discovery', 'pipeline', 10, 1500, 1)
    ) as s (snapshot_date, deal_id, owner_id, stage_id, stage_name, forecast_category,
            probability, amount, rate)"""
WALK = "2026-04-30..2026-06-30"

#: Monthly targets of Ann (1) and Bob (2), as dbt's sales_targets mart shapes them.
TARGETS = """
    create table marts.sales_targets as
    select row_number() over () as sales_target_id, 'month' as period_grain,
           period_start::date,
           (period_start::date + interval '1 month' - interval '1 day')::date as period_end,
           'rep' as level, null::bigint as team_id, owner_id::bigint,
           target_amount::numeric(16, 2)
    from (values ('2026-05-01', 1, 2000), ('2026-05-01', 2, 3000), ('2026-06-01', 1, 1000)
    ) as t (period_start, owner_id, target_amount)"""

INTERACTIONS = """
    create table marts.fct_interactions as
    select interaction_id, account_id::bigint, user_id::bigint, kind, direction,
           occurred_at::timestamptz, occurred_at::timestamptz::date as occurred_date,
           hours_to_reply::numeric, sentiment_label,
           sentiment_score::float8
    from (values
        (1, 1, 1, 'email', 'inbound', '2026-04-06 10:00+00', 2, 'positive', 0.8),
        (2, 1, 1, 'email', 'inbound', '2026-04-07 10:00+00', 4, 'neutral', 0.1),
        (3, 2, 2, 'email', 'inbound', '2026-05-05 09:00+00', null, 'negative', -0.6),
        (4, 2, 2, 'email', 'outbound', '2026-05-06 09:00+00', null, null, null),
        (5, 1, 1, 'call', 'outbound', '2026-05-06 09:00+00', null, 'positive', 0.5)
    ) as i (interaction_id, account_id, user_id, kind, direction, occurred_at,
            hours_to_reply, sentiment_label, sentiment_score)"""

ACCOUNTS = """
    create table marts.dim_accounts as
    select account_id::bigint, account_name
    from (values (1, 'Acme'), (2, 'Beta')) as a (account_id, account_name)"""

USERS = """
    create table marts.dim_users as
    select user_id::bigint, full_name, team_id::bigint, team_name, is_sales_rep
    from (values (1, 'Ann', 1, 'East', true), (2, 'Bob', 2, 'West', true),
                 (3, 'Mia Marketing', 2, 'West', false)
    ) as u (user_id, full_name, team_id, team_name, is_sales_rep)"""

#: Per month, per rep and per team. Over 2026: Ann 4 created, 3 closed, 2 won for 3,000
#: in 30 days each; Bob 3 created, 2 closed, 1 won for 3,000 in 90 days. 2025 is outside.
VELOCITY = """
    create table marts.sales_velocity as
    select period::date, dimension, dimension_key, dimension_label, opportunities_created,
           deals_closed, deals_won, won_amount::numeric(18, 2),
           avg_cycle_days::numeric(10, 1)
    from (values
        ('2026-02-01', 'rep', '1', 'Ann', 2, 2, 1, 1000, 30),
        ('2026-05-01', 'rep', '1', 'Ann', 2, 1, 1, 2000, 30),
        ('2026-03-01', 'rep', '2', 'Bob', 1, 0, 0, 0, null),
        ('2026-05-01', 'rep', '2', 'Bob', 2, 1, 1, 3000, 90),
        ('2026-06-01', 'rep', '2', 'Bob', 0, 1, 0, 0, null),
        ('2025-06-01', 'rep', '1', 'Ann', 5, 5, 5, 9999, 10),
        ('2026-02-01', 'team', '1', 'East', 2, 2, 1, 1000, 30),
        ('2026-05-01', 'team', '1', 'East', 2, 1, 1, 2000, 30),
        ('2026-03-01', 'team', '2', 'West', 1, 0, 0, 0, null),
        ('2026-05-01', 'team', '2', 'West', 2, 1, 1, 3000, 90),
        ('2026-06-01', 'team', '2', 'West', 0, 1, 0, 0, null),
        ('2026-05-01', 'segment', 'smb', 'smb', 4, 2, 2, 5000, 60)
    ) as v (period, dimension, dimension_key, dimension_label, opportunities_created,
            deals_closed, deals_won, won_amount, avg_cycle_days)"""

#: Two models' latest drift checks (the mart keeps older checks too): lead_scoring flagged
#: (email_opens and the score moved), win_probability fine.
MODEL_DRIFT = """
    create table marts.fct_model_drift as
    select model_name, model_version, mlflow_run_id, checked_at::timestamptz, measured_kind,
           feature, psi::float8, psi_threshold::float8, is_drifted, rows_reference,
           rows_current, reference_mean::float8, current_mean::float8, features_drifted,
           max_feature_psi::float8, score_psi::float8, is_model_flagged, is_latest_check
    from (values
        ('lead_scoring', '3', 'r3', '2026-06-01', 'feature', 'email_opens', 0.2, 0.2, false,
         500, 300, 3.0, 4.0, 0, 0.2, 0.05, false, false),
        ('lead_scoring', '3', 'r3', '2026-06-10', 'feature', 'email_opens', 0.6, 0.2, true,
         500, 300, 3.0, 9.0, 1, 0.6, 0.3, true, true),
        ('lead_scoring', '3', 'r3', '2026-06-10', 'feature', 'lead_source', 0.05, 0.2, false,
         500, 300, null, null, 1, 0.6, 0.3, true, true),
        ('lead_scoring', '3', 'r3', '2026-06-10', 'score', 'probability', 0.3, 0.2, true,
         100, 300, 0.3, 0.5, 1, 0.6, 0.3, true, true),
        ('win_probability', '1', 'w1', '2026-06-09', 'feature', 'amount', 0.01, 0.2, false,
         200, 80, 5000, 5100, 0, 0.01, 0.02, false, true)
    ) as d (model_name, model_version, mlflow_run_id, checked_at, measured_kind, feature, psi,
            psi_threshold, is_drifted, rows_reference, rows_current, reference_mean,
            current_mean, features_drifted, max_feature_psi, score_psi, is_model_flagged,
            is_latest_check)"""

#: (as_of, period_start, p10, p50, p90): May's forecast before May, and a later one; June's.
FORECASTS = [("2026-04-25", "2026-05-01", 1000, 3000, 6000),
             ("2026-05-20", "2026-05-01", 4000, 5000, 6000),
             ("2026-05-28", "2026-06-01", 100, 200, 300)]

REASONS = [{"feature": "email_clicks", "value": 5, "contribution": 0.9, "direction": "up"},
           {"feature": "is_free_email", "value": False, "contribution": -0.1,
            "direction": "down"}]

#: (lead_id, score, band, probability); lead 5 has no score. Lead 1's older score is
#: superseded by its newer one.
SCORES = [(1, 50, "C", 0.4, "2026-04-03"), (1, 90, "A", 0.8, "2026-06-01"),
          (2, 40, "C", 0.3, "2026-06-01"), (3, 70, "B", 0.7, "2026-06-10"),
          (4, 20, "D", 0.15, "2026-02-20")]


#: The marts that add up the hand-made ones above, built from their dbt models' own SQL.
DAILY_MARTS = ("fct_leads_daily", "fct_lead_scores_daily", "dim_lead_segments",
               "fct_response_times_daily", "fct_account_engagement_daily",
               "fct_pipeline_daily")


def load_rows(conn: sa.Connection) -> None:
    """The hand-made marts tables and the ops and ml rows the pages read."""
    for sql in (DEALS, LEADS, ATTRIBUTION, TOUCHPOINTS, STAGE_HISTORY, SNAPSHOTS, TARGETS,
                INTERACTIONS, ACCOUNTS, USERS, VELOCITY, CAMPAIGNS, MODEL_DRIFT):
        conn.execute(sa.text(sql))
    for mart in DAILY_MARTS:
        for sql in mart_statements(mart):
            conn.execute(sa.text(sql))
    # Each company-wide forecast comes with a per-category split written after it, as
    # ml.forecasting writes them: the page must read the total, not the latest row.
    for as_of, period_start, p10, p50, p90 in FORECASTS:
        for category, scale in ((None, 1), ("commit", 0.25)):
            conn.execute(sa.text(
                "insert into ml.forecasts (model_name, model_version, mlflow_run_id, as_of, "
                "level, forecast_category, period_start, period_grain, p10, p50, p90) values "
                "('win_probability', '1', 'run', :as_of, 'total', :category, :period_start, "
                "'month', :p10, :p50, :p90)"),
                {"as_of": as_of, "period_start": period_start, "category": category,
                 "p10": p10 * scale, "p50": p50 * scale, "p90": p90 * scale})
    conn.execute(sa.text(
        "insert into app.leads (id) overriding system value select generate_series(1, 5)"))
    conn.execute(sa.text("select setval(pg_get_serial_sequence('app.leads', 'id'), 5)"))
    for lead_id, score, band, probability, at in SCORES:
        conn.execute(sa.text(
            "insert into ml.lead_scores (lead_id, score, band, probability, reasons, "
            "model_name, model_version, mlflow_run_id, scored_at) values "
            "(:lead_id, :score, :band, :probability, cast(:reasons as jsonb), "
            "'lead_score', '3', 'run', :at)"),
            {"lead_id": lead_id, "score": score, "band": band, "probability": probability,
             "at": at, "reasons": json.dumps(REASONS if lead_id == 1 else [])})
    # lead 1's next best action: rank 1 of its latest run
    for action, rank, at in (("email", 1, "2026-05-01"), ("wait", 2, "2026-06-01"),
                             ("call", 1, "2026-06-01")):
        conn.execute(sa.text(
            "insert into ml.next_best_actions (lead_id, action, rank, rationale, model_name, "
            "model_version, mlflow_run_id, scored_at) values (1, :action, :rank, 'because', "
            "'next_best_action', '1', 'run', :at)"), {"action": action, "rank": rank, "at": at})
    conn.execute(sa.text("""
        insert into ops.load_batches (batch_id, source, entity, status, finished_at,
                                      rows_in, rows_loaded, rows_rejected)
        values ('00000000-0000-0000-0000-000000000001', 'crm', 'contacts', 'loaded',
                now(), 103, 100, 3),
               ('00000000-0000-0000-0000-000000000002', 'crm', 'contacts', 'failed',
                now(), 0, 0, 0)"""))
    conn.execute(sa.text("""
        insert into ops.rejected_rows (batch_id, source, entity, reason)
        select '00000000-0000-0000-0000-000000000001', 'crm', 'contacts', 'malformed email'
        from generate_series(1, 3)"""))
    conn.execute(sa.text("""
        insert into ml.model_metrics (model_name, model_version, mlflow_run_id, metric, value,
                                      recorded_at)
        values ('lead_score', '2', 'r2', 'roc_auc', 0.70, '2026-05-01'),
               ('lead_score', '3', 'r3', 'roc_auc', 0.75, '2026-06-01')"""))
