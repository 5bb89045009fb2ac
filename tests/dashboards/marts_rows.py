"""Hand-made marts, ml and ops rows that every dashboard test (and the browser test) reads.

The period used throughout is 2026-04-01..2026-06-30 (91 days); the previous period of
equal length is 2025-12-31..2026-03-31.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

PERIOD = "2026-04-01..2026-06-30"
HALF_YEAR = "2026-01-01..2026-06-30"

DEALS = """
    create table marts.fct_deals as
    select * from (values
        (1, 'One', 1, 'Ann', 1, 'Won', 6, 'closed', 1000, 0, 100, true, true,
         date '2026-01-10', date '2026-02-09', 30, 0, 'web'),
        (2, 'Two', 1, 'Ann', 1, 'Won', 6, 'closed', 2000, 0, 100, true, true,
         date '2026-04-05', date '2026-05-05', 30, 0, 'web'),
        (3, 'Three', 2, 'Bob', 2, 'Won', 6, 'closed', 3000, 0, 100, true, true,
         date '2026-03-01', date '2026-05-30', 90, 0, 'event'),
        (4, 'Four', 2, 'Bob', 2, 'Lost', 7, 'closed', 500, 0, 0, true, false,
         date '2026-04-10', date '2026-06-01', 52, 0, 'event'),
        (5, 'Five', 1, 'Ann', 1, 'Proposal', 3, 'commit', 4000, 2400, 60, false, false,
         date '2026-02-01', null, 300, 20, 'web'),
        (6, 'Six', 2, 'Bob', 2, 'Discovery', 1, 'pipeline', 1500, 150, 10, false, false,
         date '2026-05-01', null, 208, 5, 'event'),
        (7, 'Seven', 1, 'Ann', 1, 'Lost', 7, 'closed', 700, 0, 0, true, false,
         date '2026-01-20', date '2026-03-15', 54, 0, 'web')
    ) as d (deal_id, deal_name, owner_id, owner_name, owner_team_id, stage_name,
            stage_position,
            forecast_category, amount, weighted_amount, probability, is_closed, is_won,
            created_date, closed_date, age_days, days_in_current_stage, lead_source)"""

LEADS = """
    create table marts.fct_leads as
    select lead_id::bigint, owner_id::bigint, company, title, lead_source, industry, status,
           created_at::timestamptz, is_converted, is_closed, closed_at::timestamptz
    from (values
        (1, 1, 'Acme', 'CTO', 'web', 'software', 'working', '2026-04-02 10:00+00', false,
         false, null),
        (2, 2, 'Beta', 'CFO', 'event', 'retail', 'new', '2026-05-02 10:00+00', false, false,
         null),
        (3, 1, 'Gamma', 'CEO', 'web', 'software', 'converted', '2026-06-02 10:00+00', true,
         true, '2026-06-20 10:00+00'),
        (4, 1, 'Delta', 'VP', 'web', 'retail', 'disqualified', '2026-02-02 10:00+00', false,
         true, '2026-03-01 10:00+00'),
        (5, 2, 'Epsilon', 'Ops', 'event', 'software', 'new', '2026-03-02 10:00+00', false,
         false, null)
    ) as l (lead_id, owner_id, company, title, lead_source, industry, status, created_at,
            is_converted, is_closed, closed_at)"""

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

TOUCHPOINTS = """
    create table marts.fct_touchpoints as
    select channel, campaign, event_type, occurred_date::date, cost::numeric(12, 2)
    from (values
        ('email', 'spring', 'email_open', '2026-04-10', 500),
        ('paid_search', 'brand', 'ad_click', '2026-05-10', 1000),
        ('paid_search', 'brand', 'ad_click', '2026-05-11', 1000),
        ('display', 'retarget', 'session', '2026-05-12', 300),
        ('email', 'spring', 'email_click', '2026-05-13', null),
        ('email', 'winter', 'email_open', '2025-06-10', 50)
    ) as t (channel, campaign, event_type, occurred_date, cost)"""

#: Leads 1 and 2 in the April cohort, 3 and 4 in May; lead 2 is Bob's.
FUNNEL = """
    create table marts.fct_lead_funnel as
    select lead_id, owner_id::bigint, created_at::timestamptz, mql_at::timestamptz,
           sql_at::timestamptz, opportunity_at::timestamptz, won_at::timestamptz
    from (values
        (1, 1, '2026-04-02', '2026-04-04', '2026-04-08', '2026-04-10', '2026-05-10'),
        (2, 2, '2026-04-15', '2026-04-16', null, null, null),
        (3, 1, '2026-05-02', '2026-05-12', '2026-05-22', null, null),
        (4, 1, '2026-05-20', null, null, null, null)
    ) as f (lead_id, owner_id, created_at, mql_at, sql_at, opportunity_at, won_at)"""

STAGE_HISTORY = """
    create table marts.fct_deal_stage_history as
    select deal_id, owner_id::bigint, stage_name, stage_position, entered_at::timestamptz,
           exited_at::timestamptz
    from (values
        (2, 1, 'Discovery', 1, '2026-04-05', '2026-04-15'),
        (2, 1, 'Proposal', 3, '2026-04-15', '2026-05-05'),
        (6, 2, 'Discovery', 1, '2026-05-01', '2026-05-11'),
        (6, 2, 'Proposal', 3, '2026-05-11', null)
    ) as h (deal_id, owner_id, stage_name, stage_position, entered_at, exited_at)"""

#: From 2026-03-31 to 2026-06-30: deal 3 won, 5 grew by 500, 6 is new, 9 lost, 10 gone.
SNAPSHOTS = """
    create table marts.fct_pipeline_daily_snapshot as
    select snapshot_date::date, deal_id, owner_id::bigint, amount::numeric(16, 2), is_closed,
           is_won
    from (values
        ('2026-03-31', 3, 2, 3000, false, false), ('2026-03-31', 5, 1, 4000, false, false),
        ('2026-03-31', 9, 1, 800, false, false), ('2026-03-31', 10, 1, 100, false, false),
        ('2026-05-15', 5, 1, 4200, false, false),
        ('2026-06-30', 3, 2, 3000, true, true), ('2026-06-30', 5, 1, 4500, false, false),
        ('2026-06-30', 6, 2, 1500, false, false), ('2026-06-30', 9, 1, 800, true, false)
    ) as s (snapshot_date, deal_id, owner_id, amount, is_closed, is_won)"""

TARGETS = """
    create table marts.sales_targets as
    select period_start::date, owner_id::bigint, target_amount::numeric(16, 2)
    from (values ('2026-05-01', 1, 2000), ('2026-05-01', 2, 3000), ('2026-06-01', 1, 1000)
    ) as t (period_start, owner_id, target_amount)"""

INTERACTIONS = """
    create table marts.fct_interactions as
    select interaction_id, account_name, owner_id::bigint, interaction_type, direction,
           occurred_at::timestamptz, response_minutes, sentiment_label,
           sentiment_score::float8
    from (values
        (1, 'Acme', 1, 'email', 'inbound', '2026-04-06 10:00+00', 120, 'positive', 0.8),
        (2, 'Acme', 1, 'email', 'inbound', '2026-04-07 10:00+00', 240, 'neutral', 0.1),
        (3, 'Beta', 2, 'email', 'inbound', '2026-05-05 09:00+00', null, 'negative', -0.6),
        (4, 'Beta', 2, 'email', 'outbound', '2026-05-06 09:00+00', null, null, null),
        (5, 'Acme', 1, 'call', 'outbound', '2026-05-06 09:00+00', null, 'positive', 0.5)
    ) as i (interaction_id, account_name, owner_id, interaction_type, direction,
            occurred_at, response_minutes, sentiment_label, sentiment_score)"""

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


def load_rows(conn: sa.Connection) -> None:
    """The hand-made marts tables and the ops and ml rows the pages read."""
    for sql in (DEALS, LEADS, ATTRIBUTION, TOUCHPOINTS, FUNNEL, STAGE_HISTORY, SNAPSHOTS,
                TARGETS, INTERACTIONS):
        conn.execute(sa.text(sql))
    for as_of, period_start, p10, p50, p90 in FORECASTS:
        conn.execute(sa.text(
            "insert into ml.forecasts (model_name, model_version, mlflow_run_id, as_of, "
            "period_start, period_grain, p10, p50, p90) values ('bookings', '1', 'run', "
            ":as_of, :period_start, 'month', :p10, :p50, :p90)"),
            {"as_of": as_of, "period_start": period_start, "p10": p10, "p50": p50, "p90": p90})
    conn.execute(sa.text("insert into app.teams (id, name) overriding system value "
                         "values (1, 'East'), (2, 'West')"))
    conn.execute(sa.text(
        "insert into app.leads (id) overriding system value select generate_series(1, 5)"))
    for lead_id, score, band, probability, at in SCORES:
        conn.execute(sa.text(
            "insert into ml.lead_scores (lead_id, score, band, probability, reasons, "
            "model_name, model_version, mlflow_run_id, scored_at) values "
            "(:lead_id, :score, :band, :probability, cast(:reasons as jsonb), "
            "'lead_score', '3', 'run', :at)"),
            {"lead_id": lead_id, "score": score, "band": band, "probability": probability,
             "at": at, "reasons": json.dumps(REASONS if lead_id == 1 else [])})
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
