"""What the work queue shows to each role. The API decides which records a user may see
(its permission scopes); this only says whose records to ask for and what the page offers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueueView:
    """`whose` heads the sections ("My", "My teams'", ...); `leads_of` and `tasks_of` are
    the API's owner filter ("me"), or None for every record the API lets the role see;
    `team` adds the rep filter and the overdue escalations; `acts` shows the qualify,
    disqualify and complete buttons."""

    whose: str
    leads_of: str | None = "me"
    tasks_of: str | None = "me"
    team: bool = False
    acts: bool = True


#: role -> its view; any other role sees its own records.
VIEWS = {
    "sales_rep": QueueView("My"),
    "sales_manager": QueueView("My teams'", None, None, team=True),
    "admin": QueueView("Everyone's", None, None, team=True),
    "analyst": QueueView("Everyone's", None, None, team=True, acts=False),
    "marketing_manager": QueueView("My campaigns'", None, "me"),
}
OWN = QueueView("My")


def view_for(role: str | None) -> QueueView:
    return VIEWS.get(role or "", OWN)
