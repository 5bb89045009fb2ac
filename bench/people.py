"""Generated people for the ingestion and merge benchmarks: vectorised, deterministic by
seed, any scale (1,000,000 in a few seconds), with unique e-mail addresses so that the
only duplicates are the ones the generator makes on purpose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from salesops.demo.salesforce import CONTACT_COLUMNS

FIRST = np.array(str.split("Anna Ben Carla David Emma Felix Grace Hugo Ines Jonas Kira "
                           "Liam Maria Noah Olga Paul Quinn Rosa Sam Tara Uwe Vera Will Xenia "
                           "Yusuf Zoe"))
LAST = np.array(str.split("Smith Jones Miller Garcia Brown Davis Wilson Moore Taylor Thomas "
                          "Martin Lee Walker Young King Wright Scott Green Baker Adams Nelson "
                          "Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Parker"))
TITLES = np.array(["VP Sales", "Head of Marketing", "CFO", "Sales Manager", "Engineer", ""])
SOURCES = np.array(["Web", "Partner Referral", "Trade Show", "Advertisement", "Cold Call"])


def _pick(rng: np.random.Generator, values: np.ndarray, n: int) -> pd.Series:
    return pd.Series(values[rng.integers(0, len(values), n)], dtype=object)


def _sfid(prefix: str, counter: np.ndarray) -> pd.Series:
    """An 18-character Salesforce-shaped id."""
    return prefix + pd.Series(counter).astype(str).str.zfill(15)


def _sf_time(t: np.ndarray) -> pd.Series:
    """Salesforce export datetimes: `2025-08-09T07:16:05.000+0000`."""
    return pd.Series(np.datetime_as_string(t, unit="s")) + ".000+0000"


def people(n: int, seed: int, start: int = 0) -> pd.DataFrame:
    """Persons `start` .. `start + n - 1`: person, first_name, last_name, email, phone
    (E.164), company."""
    rng = np.random.default_rng([seed, start])
    person = np.arange(start, start + n)
    first, last = _pick(rng, FIRST, n), _pick(rng, LAST, n)
    company = rng.integers(0, max(n // 20, 1), n)
    email = (first.str.lower() + "." + last.str.lower() + "." + pd.Series(person).astype(str)
             + "@company" + pd.Series(company).astype(str) + ".com")
    phone = "+1" + pd.Series(rng.integers(2_000_000_000, 9_999_999_999, n)).astype(str)
    return pd.DataFrame({"person": person, "first_name": first, "last_name": last,
                         "email": email, "phone": phone,
                         "company": "Company " + pd.Series(company).astype(str)})


def write_contact_csv(path: Path, n: int, seed: int, chunk: int = 100_000) -> None:
    """Contact.csv of `n` people, written a chunk at a time so memory stays flat."""
    with path.open("w", encoding="utf-8", newline="") as out:
        for start in range(0, n, chunk):
            contact_export(min(chunk, n - start), seed, start).to_csv(
                out, index=False, header=start == 0)


def contact_export(n: int, seed: int, start: int = 0) -> pd.DataFrame:
    """`n` rows shaped like a Salesforce weekly export's Contact.csv."""
    rng = np.random.default_rng([seed, start, 1])
    p = people(n, seed, start)
    created = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 700 * 86400, n)
    modified = created + rng.integers(0, 60 * 86400, n)
    frame = pd.DataFrame({
        "Id": _sfid("003", p.person.to_numpy()),
        "AccountId": _sfid("001", p.company.str.slice(8).astype(int).to_numpy()),
        "FirstName": p.first_name, "LastName": p.last_name, "Email": p.email,
        "Phone": p.phone, "Title": _pick(rng, TITLES, n), "LeadSource": _pick(rng, SOURCES, n),
        "OwnerId": _sfid("005", rng.integers(0, 50, n)),
        "HasOptedOutOfEmail": np.where(rng.random(n) < 0.05, "true", "false"),
        "CreatedDate": _sf_time(created), "LastModifiedDate": _sf_time(modified),
        "IsDeleted": "false",
        "Preferred_Channel__c": _pick(rng, np.array(["Email", "Phone", ""]), n),
    })
    return frame[CONTACT_COLUMNS]
