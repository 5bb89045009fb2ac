"""Salesforce campaign members and tasks: what marketing and reps did with each person.

Pre-conversion tasks hang on the Lead whatever the outcome, so their count carries effort,
not the answer; deal tasks hang on the Contact and Opportunity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesops.demo import clock, ids, variants
from salesops.demo.people import Chunk
from salesops.demo.pipeline import Deals
from salesops.demo.salesforce import contact_id, lead_id, opportunity_id
from salesops.demo.world import World
from salesops.demo.writer import Output

MEMBER_COLUMNS = [
    "Id", "CampaignId", "LeadId", "ContactId", "Status", "HasResponded", "FirstRespondedDate",
    "CreatedDate",
]
TASK_COLUMNS = [
    "Id", "WhoId", "WhatId", "Subject", "Status", "Priority", "ActivityDate", "Type", "OwnerId",
    "CreatedDate", "IsClosed",
]
MAX_MEMBERSHIPS = 6
SUBJECTS = {
    "Call": ("Call", "Intro call", "Left voicemail", "Follow-up call"),
    "Email": ("Email: Intro", "Email: Follow up", "Email: Pricing info", "Email: Case study"),
    "Meeting": ("Discovery meeting", "Demo"),
    "Other": ("LinkedIn InMail", "Research account"),
}
DEAL_SUBJECTS = {
    "Call": ("Negotiation call", "Pricing call", "Check-in call"),
    "Email": ("Email: Proposal", "Email: Contract", "Email: Security questionnaire"),
    "Meeting": ("Demo", "Security review", "Contract review", "Executive sponsor meeting"),
    "Other": ("Send proposal", "Update mutual action plan"),
}


def _who(chunk: Chunk, rows: np.ndarray) -> np.ndarray:
    """The Lead of people who have one, else their Contact."""
    people = chunk.people
    pid = people["pid"].to_numpy()[rows]
    return np.where(people["has_lead"].to_numpy()[rows], lead_id(pid), contact_id(pid))


class Activities:
    def __init__(self, out: Output, world: World) -> None:
        self.world = world
        self.members = out.csv("salesforce/CampaignMember.csv", MEMBER_COLUMNS)
        self.tasks = out.csv("salesforce/Task.csv", TASK_COLUMNS)

    def write(self, rng: np.random.Generator, chunk: Chunk, deals: Deals) -> None:
        self.members.write(self._members(rng, chunk))
        self.tasks.write(self._tasks(rng, chunk, deals))

    def _members(self, rng: np.random.Generator, chunk: Chunk) -> pd.DataFrame:
        p = chunk.people
        campaigns = self.world.campaigns
        engagement = p["engagement"].to_numpy()
        brought = p["campaign"].to_numpy()
        extra = rng.poisson(0.3 + 0.4 * np.clip(engagement, 0, None))
        count = np.minimum(extra + (brought >= 0), MAX_MEMBERSHIPS)
        person = np.repeat(np.arange(len(p)), count)
        slot = np.arange(len(person)) - np.repeat(np.cumsum(count) - count, count)
        campaign = rng.choice(np.flatnonzero(campaigns.source != ""), len(person))
        first = (slot == 0) & (brought[person] >= 0)
        campaign[first] = brought[person][first]
        keep = ~pd.DataFrame({"p": person, "c": campaign}).duplicated().to_numpy()
        person, slot, campaign, first = person[keep], slot[keep], campaign[keep], first[keep]
        n = len(person)

        joined = np.maximum(campaigns.start[campaign], p["first_seen"].to_numpy()[person])
        joined = clock.before_anchor(rng, joined + rng.integers(0, 20 * clock.DAY, n))
        responded = first | (rng.random(n) < 1 / (1 + np.exp(0.5 - 0.8 * engagement[person])))
        answered = clock.before_anchor(rng, joined + rng.integers(0, 5 * clock.DAY, n))
        has_lead = p["has_lead"].to_numpy()[person]
        pid = p["pid"].to_numpy()[person]
        return pd.DataFrame({
            "Id": ids.salesforce("00v", pid * 8 + slot),
            "CampaignId": campaigns.frame["Id"].to_numpy()[campaign],
            "LeadId": np.where(has_lead, lead_id(pid), ""),
            "ContactId": np.where(has_lead, "", contact_id(pid)),
            "Status": np.where(responded, "Responded", "Sent"),
            "HasResponded": np.where(responded, "true", "false"),
            "FirstRespondedDate": clock.sf_date(answered, missing=~responded),
            "CreatedDate": clock.sf_datetime(joined),
        })

    def _tasks(self, rng: np.random.Generator, chunk: Chunk, deals: Deals) -> pd.DataFrame:
        p = chunk.people
        org = self.world.org
        # prospecting tasks: on the lead (or the contact of people without one)
        count = rng.poisson(1.0 + 0.4 * np.clip(p["engagement"].to_numpy(), 0, None))
        person = np.repeat(np.arange(len(p)), np.minimum(count, 8))
        n1 = len(person)
        start = p["created"].to_numpy()[person]
        window = np.where(p["converted"].to_numpy()[person],
                          np.minimum(45 * clock.DAY, p["converted_at"].to_numpy()[person] - start),
                          45 * clock.DAY)
        when = start + (rng.random(n1) * window).astype(np.int64)
        lead_tasks = pd.DataFrame({
            "pid": p["pid"].to_numpy()[person],
            "who": _who(chunk, person),
            "what": "",
            "owner": np.where(p["has_lead"].to_numpy()[person],
                              p["lead_owner"].to_numpy()[person], p["owner"].to_numpy()[person]),
            "when": when,
            "created": np.maximum(start, when - rng.integers(0, 3 * clock.DAY, n1)),
            "deal": False,
        })
        # deal tasks: about one per stage, on the contact and the opportunity
        h = deals.history
        o = deals.opps
        per_stage = np.minimum(rng.poisson(1.0, len(h)), 6)
        row = np.repeat(np.arange(len(h)), per_stage)
        n2 = len(row)
        stage_start = h["created"].to_numpy()[row]
        when = stage_start + (rng.random(n2) * 10 * clock.DAY).astype(np.int64)
        hpid = h["pid"].to_numpy()[row]
        deal_tasks = pd.DataFrame({
            "pid": hpid,
            "who": contact_id(hpid),
            "what": opportunity_id(hpid),
            "owner": o["owner"].to_numpy()[h["opp"].to_numpy()[row]],
            "when": when,
            "created": np.maximum(stage_start, when - rng.integers(0, 3 * clock.DAY, n2)),
            "deal": True,
        })
        t = pd.concat([lead_tasks, deal_tasks], ignore_index=True)
        n = len(t)
        slot = t.groupby("pid").cumcount().to_numpy()
        kind = rng.choice(np.array(list(SUBJECTS), dtype=object), n, p=[0.45, 0.35, 0.12, 0.08])
        subject = np.empty(n, dtype=object)
        for i, (k, deal, u) in enumerate(zip(kind, t["deal"].to_numpy(), rng.random(n),
                                             strict=True)):
            choices = (DEAL_SUBJECTS if deal else SUBJECTS)[k]
            subject[i] = choices[int(u * len(choices))]
        when = t["when"].to_numpy()
        future = when > clock.ANCHOR
        roll = rng.random(n)
        status = np.where(future, np.where(roll < 0.8, "Not Started", "In Progress"),
                          np.where(roll < 0.9, "Completed",
                                   np.where(roll < 0.95, "Deferred", "Not Started")))
        return pd.DataFrame({
            "Id": ids.salesforce("00T", t["pid"].to_numpy() * 64 + slot),
            "WhoId": t["who"].to_numpy(),
            "WhatId": t["what"].to_numpy(),
            "Subject": subject,
            "Status": status,
            "Priority": rng.choice(np.array(["Normal", "High", "Low"], dtype=object), n,
                                   p=[0.75, 0.2, 0.05]),
            "ActivityDate": variants.dates(rng, clock.sf_date(when), 0.005),
            "Type": kind,
            "OwnerId": org.ids[t["owner"].to_numpy()],
            "CreatedDate": clock.sf_datetime(clock.before_anchor(rng, t["created"].to_numpy())),
            "IsClosed": np.where(status == "Completed", "true", "false"),
        })
