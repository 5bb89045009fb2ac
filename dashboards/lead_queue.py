"""The open leads by priority, listed a page at a time in keyset order (each page starts
after the last lead of the one before, so a page costs the same wherever it is), and the
leads page's filters."""

from __future__ import annotations

import pandas as pd

from dashboards.filters import owner_clause

#: The source, segment and owner filters, on columns of these names.
PICKED = """
      and (cardinality(cast(:sources as text[])) = 0
           or lead_source = any(cast(:sources as text[])))
      and (cardinality(cast(:industries as text[])) = 0
           or industry = any(cast(:industries as text[])))
      and """ + owner_clause("owner_id")

#: The open leads by priority, a page at a time from the partial priority index of
#: `marts.fct_leads` (score desc nulls last, created_at desc, lead_id): the ones after the
#: last lead of the previous page (`:after_*`, all null for the first page); then the
#: latest score's reasons and the next best action (rank 1 of the latest run) of the
#: listed leads only.
QUEUE_SQL = """
    select q.lead_id, q.score, q.band, q.probability, s.reasons,
           a.action as next_best_action, a.rationale as action_reason, q.company, q.title,
           q.lead_source, q.status, q.created_at, s.model_version, s.scored_at
    from (select l.lead_id, l.score, l.score_band as band,
                 l.score_probability as probability, l.company, l.title, l.lead_source,
                 l.status, l.created_at
          from marts.fct_leads l
          where l.created_at >= cast(:start as date)
            and l.created_at < cast(:end as date) + 1""" + PICKED + """
            and not l.is_closed
            and (cardinality(cast(:bands as text[])) = 0
                 or l.score_band = any(cast(:bands as text[])))
            and (cast(:after_id as bigint) is null
                 or (case when cast(:after_score as int) is null then l.score is null
                          else l.score is null or l.score <= cast(:after_score as int) end
                     and (l.score is distinct from cast(:after_score as int)
                          or l.created_at < cast(:after_created as timestamptz)
                          or (l.created_at = cast(:after_created as timestamptz)
                              and l.lead_id > cast(:after_id as bigint)))))
          order by l.score desc nulls last, l.created_at desc, l.lead_id
          limit :limit) q
    left join lateral (
        select reasons, model_version, scored_at from ml.lead_scores
        where lead_scores.lead_id = q.lead_id
        order by scored_at desc, id desc limit 1) s on true
    left join lateral (
        select action, rationale from ml.next_best_actions
        where next_best_actions.lead_id = q.lead_id
        order by scored_at desc, rank nulls last, id limit 1) a on true
    order by q.score desc nulls last, q.created_at desc, q.lead_id"""

FIRST_PAGE = {"after_score": None, "after_created": None, "after_id": None}


def after(lead) -> dict:
    """The keyset of the page after the one ending with `lead` (a row of the list)."""
    return {"after_score": None if pd.isna(lead.score) else int(lead.score),
            "after_created": lead.created_at, "after_id": int(lead.lead_id)}
