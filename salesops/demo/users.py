"""The vendor's sales org: a VP, territory teams with a manager, AEs and SDRs.

About one rep per 100 people (8 to 200 users). Records are assigned to reps of the
account's territory; SDRs work leads, AEs own opportunities, as in most B2B teams.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesops.demo import clock, ids
from salesops.demo.vocab import VENDOR_DOMAIN, Vocab, ascii_slug

USER_COLUMNS = [
    "Id", "Username", "FirstName", "LastName", "Email", "Title", "Department", "UserRoleId",
    "ManagerId", "IsActive", "Team__c", "Territory__c", "CreatedDate",
]
TEAM_SIZE = 7
SEGMENTS = ("Mid-Market", "SMB", "Enterprise")


@dataclass(frozen=True)
class SalesOrg:
    frame: pd.DataFrame  # User.csv rows
    kind: np.ndarray  # "vp", "manager", "ae" or "sdr"
    territory: np.ndarray
    active: np.ndarray

    @property
    def ids(self) -> np.ndarray:
        return self.frame["Id"].to_numpy()

    @property
    def emails(self) -> np.ndarray:
        return self.frame["Email"].to_numpy()

    @property
    def names(self) -> np.ndarray:
        return (self.frame["FirstName"] + " " + self.frame["LastName"]).to_numpy()

    def assign(self, rng: np.random.Generator, territory: np.ndarray, kinds: tuple[str, ...]
               ) -> np.ndarray:
        """Pick an owner of one of `kinds` in each record's territory (any territory if none).

        Inactive reps keep a few records: people leave, their records stay with them.
        """
        owners = np.empty(len(territory), dtype=np.int64)
        weight = np.where(self.active, 1.0, 0.15) * np.isin(self.kind, kinds)
        for name in np.unique(territory):
            rows = np.flatnonzero(territory == name)
            local = weight * (self.territory == name)
            w = local if local.sum() > 0 else weight
            owners[rows] = rng.choice(len(w), size=len(rows), p=w / w.sum())
        return owners


def build(rng: np.random.Generator, scale: int, vocab: Vocab) -> SalesOrg:
    n = int(np.clip(scale // 100, 8, 200))
    names = vocab.names["en"]
    first = rng.choice(names.first, size=n, p=names.first_p)
    last = rng.choice(names.last, size=n, p=names.last_p)
    n_teams = max(1, round((n - 1) / TEAM_SIZE))
    team = np.concatenate([[-1], np.arange(n - 1) % n_teams])
    territories = np.array(vocab.territories)
    territory = np.where(team < 0, "Global", territories[np.maximum(team, 0) % len(territories)])
    segment = np.array(SEGMENTS)[(np.maximum(team, 0) // len(territories)) % len(SEGMENTS)]
    is_manager = np.zeros(n, dtype=bool)
    for t in range(n_teams):
        is_manager[np.flatnonzero(team == t)[0]] = True
    kind = np.where(rng.random(n) < 0.4, "sdr", "ae")
    kind = np.where(is_manager, "manager", kind)
    kind[0] = "vp"
    senior = rng.random(n) < 0.25
    title = np.where(kind == "sdr", "Sales Development Representative",
                     np.where(senior, "Senior Account Executive", "Account Executive"))
    title = np.where(kind == "manager", "Sales Manager", title)
    title[0] = "VP of Sales"
    active = ~(np.isin(kind, ("ae", "sdr")) & (rng.random(n) < 0.06))

    user_ids = ids.salesforce("005", np.arange(n))
    manager_of_team = {t: user_ids[np.flatnonzero(team == t)[0]] for t in range(n_teams)}
    manager = np.array([manager_of_team[t] if t >= 0 else "" for t in team], dtype=object)
    manager[is_manager] = user_ids[0]
    territory_no = np.array([vocab.territories.index(x) if x != "Global" else 0
                             for x in territory])
    role_counter = np.where(kind == "vp", 0, np.where(kind == "manager", 1, 10) + territory_no)

    emails, seen = [], set()
    for f, la in zip(first, last, strict=True):
        local, k = f"{ascii_slug(f)}.{ascii_slug(la)}", 1
        while (candidate := f"{local}{k if k > 1 else ''}@{VENDOR_DOMAIN}") in seen:
            k += 1
        seen.add(candidate)
        emails.append(candidate)
    created = clock.ANCHOR - rng.integers(60 * clock.DAY, 1800 * clock.DAY, size=n)
    created[0] = clock.ANCHOR - 2000 * clock.DAY + 9 * 3_600
    frame = pd.DataFrame({
        "Id": user_ids,
        "Username": emails,
        "FirstName": first,
        "LastName": last,
        "Email": emails,
        "Title": title,
        "Department": np.where(kind == "sdr", "Sales Development", "Sales"),
        "UserRoleId": ids.salesforce("00E", role_counter),
        "ManagerId": manager,
        "IsActive": np.where(active, "true", "false"),
        "Team__c": np.where(team < 0, "Leadership", np.char.add(
            np.char.add(territory.astype(str), " "), segment)),
        "Territory__c": territory,
        "CreatedDate": clock.sf_datetime(created),
    }, columns=USER_COLUMNS)
    return SalesOrg(frame=frame, kind=kind, territory=territory, active=active)
