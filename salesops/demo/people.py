"""People and their accounts, one chunk at a time, with the latent model behind outcomes.

Each person has canonical attributes (the truth every source then distorts) and latent
variables: engagement drives touchpoint counts; a conversion logit adds lead source, fit
(industry, company size, seniority, job function) and engagement, plus noise. Only the
consequences (touchpoints, statuses, opportunities) are written; the latents never are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesops.demo import clock
from salesops.demo.vocab import ascii_slug
from salesops.demo.world import World

PEOPLE_PER_ACCOUNT = 8
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")
ACCOUNT_TYPES = {"Prospect": 0.64, "Customer - Direct": 0.2, "Customer - Channel": 0.06,
                 "Channel Partner / Reseller": 0.04, "Other": 0.06}
SENIORITY_MIX = (0.05, 0.36, 0.25, 0.16, 0.1, 0.08)
INBOUND = ("Web", "Paid Search", "Social Media", "Email", "Webinar")


@dataclass(frozen=True)
class Chunk:
    """A block of people (rows in `people`) and the accounts they work at."""

    people: pd.DataFrame
    accounts: pd.DataFrame


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _size_fit(employees: np.ndarray) -> np.ndarray:
    """Mid-sized companies (a few hundred people) buy most readily."""
    return 0.35 - 0.3 * (np.log10(employees) - 2.6) ** 2


def decision_delay(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds from a lead's creation to its conversion, or to its last status change."""
    return ((1 + rng.gamma(2, 9, n)) * clock.DAY).astype(np.int64)


def _pick_names(rng: np.random.Generator, world: World, locale: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    first = np.empty(len(locale), dtype=object)
    last = np.empty(len(locale), dtype=object)
    for code, names in world.vocab.names.items():
        rows = np.flatnonzero(locale == code)
        first[rows] = rng.choice(names.first, size=len(rows), p=names.first_p)
        last[rows] = rng.choice(names.last, size=len(rows), p=names.last_p)
    return first, last


def _accounts(rng: np.random.Generator, world: World, start: int, n: int,
              taken_domains: set[str]) -> pd.DataFrame:
    vocab = world.vocab
    countries = vocab.countries
    country = rng.choice(len(countries), size=n, p=[c.weight for c in countries])
    city_pick = rng.random(n)
    city = [countries[c].cities[int(u * len(countries[c].cities))] for c, u in
            zip(country, city_pick, strict=True)]
    industries = vocab.industries
    industry = rng.choice(len(industries), size=n, p=[i.weight for i in industries])
    employees = np.clip(np.round(rng.lognormal(np.log(150), 1.7, n)), 2, 250_000).astype(np.int64)
    revenue = np.round(employees * rng.lognormal(np.log(180_000), 0.5, n), -3)
    locale = np.array([countries[c].locale for c in country])
    founder = _pick_names(rng, world, locale)[1]
    partner = _pick_names(rng, world, locale)[1]
    form = rng.random(n)
    names, domains = [], []
    for i in range(n):
        ind, ctry = industries[industry[i]], countries[country[i]]
        noun = ind.nouns[rng.integers(len(ind.nouns))]
        stem = f"{founder[i]} & {partner[i]}" if form[i] < 0.12 else founder[i]
        name = f"{stem} {noun}"
        if form[i] > 0.65:
            suffixes = vocab.company_suffixes[ctry.locale]
            name = f"{name} {suffixes[rng.integers(len(suffixes))]}"
        tld = "io" if ind.name == "Technology" and form[i] > 0.7 else ctry.tld
        slug = ascii_slug(founder[i] + (partner[i] if form[i] < 0.12 else "") + noun)
        domain, copy = f"{slug}.{tld}", 2
        while domain in taken_domains:
            domain, copy = f"{slug}{copy}.{tld}", copy + 1
        taken_domains.add(domain)
        names.append(name)
        domains.append(domain)
    kind = rng.choice(list(ACCOUNT_TYPES), size=n, p=list(ACCOUNT_TYPES.values()))
    fit = np.array([industries[i].fit for i in industry]) + _size_fit(employees)
    tier = np.where(fit + rng.normal(0, 0.3, n) > 0.4, "Tier 1",
                    np.where(fit > -0.2, "Tier 2", "Tier 3"))
    territory = np.array([c[1] for c in city])
    existing = np.char.startswith(kind.astype(str), "Customer")
    age_days = rng.integers(0, clock.HISTORY_DAYS + 700, n) + np.where(existing, 400, 0)
    return pd.DataFrame({
        "acc": start // PEOPLE_PER_ACCOUNT + np.arange(n),
        "name": names,
        "domain": domains,
        "industry": [industries[i].name for i in industry],
        "industry_no": industry,
        "employees": employees,
        "revenue": revenue,
        "country_no": country,
        "city": [c[0] for c in city],
        "territory": territory,
        "locale": locale,
        "type": kind,
        "existing": existing,
        "segment": np.where(employees < 200, "SMB",
                            np.where(employees < 2_000, "Mid-Market", "Enterprise")),
        "tier": tier,
        "fit": fit,
        "created": clock.ANCHOR - age_days * clock.DAY - rng.integers(0, clock.DAY, n),
        "owner": world.org.assign(rng, territory, ("ae",)),
        "email_pattern": rng.integers(0, 5, n),
    })


def _emails(rng: np.random.Generator, first: np.ndarray, last: np.ndarray,
            pattern: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """Company address by the account's pattern, or a personal free-mail address."""
    f = np.array([ascii_slug(x) for x in first], dtype=object)
    la = np.array([ascii_slug(x) for x in last], dtype=object)
    initial = np.array([x[:1] for x in f], dtype=object)
    local = np.select(
        [pattern == 0, pattern == 1, pattern == 2, pattern == 3],
        [f + "." + la, initial + la, f + "_" + la, f + np.array([x[:1] for x in la])],
        default=f,
    )
    free = rng.random(len(f)) < 0.07
    year = rng.integers(60, 100, len(f)).astype(str).astype(object)
    local = np.where(free, f + "." + la + year, local)
    mail_domain = np.where(free, rng.choice(FREE_MAIL, len(f)), domain)
    emails = pd.Series(local + "@" + mail_domain)
    while (dup := emails.duplicated()).any():
        rank = emails.groupby(emails).cumcount() + 1
        parts = emails[dup].str.split("@", n=1, expand=True)
        emails[dup] = parts[0] + rank[dup].astype(str) + "@" + parts[1]
    return emails.to_numpy(dtype=object)


def make_chunk(world: World, rng: np.random.Generator, start: int, n: int,
               taken_domains: set[str]) -> Chunk:
    """People `start` to `start + n` and their accounts; `taken_domains` keeps company
    domains (hence email addresses) unique across chunks."""
    vocab = world.vocab
    accounts = _accounts(rng, world, start, -(-n // PEOPLE_PER_ACCOUNT), taken_domains)
    pull = accounts["employees"].to_numpy() ** 0.4
    acc = rng.choice(len(accounts), size=n, p=pull / pull.sum())
    a = accounts.iloc[acc].reset_index(drop=True)
    first, last = _pick_names(rng, world, a["locale"].to_numpy())

    titles = vocab.titles
    title_p = np.array([SENIORITY_MIX[s] for _, s, _ in titles])
    title_p /= np.array([sum(1 for t in titles if t[1] == s) for _, s, _ in titles])
    title = rng.choice(len(titles), size=n, p=title_p / title_p.sum())
    seniority = np.array([titles[t][1] for t in title])
    function = np.array([titles[t][2] for t in title])
    sources = vocab.sources
    source = rng.choice(len(sources), size=n, p=[s.weight for s in sources])
    source_name = np.array([s.name for s in sources], dtype=object)[source]

    engagement = rng.normal(0, 1, n) + np.array([s.engagement for s in sources])[source]
    touches = rng.poisson(np.exp(1.2 + 0.5 * engagement))
    fit = (a["fit"].to_numpy() + np.array(vocab.seniority_fit)[seniority]
           + np.array([vocab.function_fit[f] for f in function]))
    logit = (-3.3 + 1.3 * (np.array([s.effect for s in sources])[source] + fit)
             + 0.45 * engagement + 0.6 * np.log1p(touches) + 0.3 * a["existing"].to_numpy()
             + rng.normal(0, 0.5, n))

    has_lead = rng.random(n) < 0.85
    first_seen = (clock.ANCHOR - 2 * clock.DAY
                  - (clock.HISTORY_DAYS * clock.DAY * (1 - rng.random(n) ** 0.8)).astype(np.int64))
    created = np.minimum(first_seen + rng.exponential(3 * clock.DAY, n).astype(np.int64),
                         clock.ANCHOR - 3_600)
    converted_at = created + decision_delay(rng, n)
    converted = has_lead & (rng.random(n) < _sigmoid(logit)) & (converted_at < clock.ANCHOR)
    existing_business = ~has_lead & a["existing"].to_numpy() & (rng.random(n) < 0.3)
    opp_at = np.where(converted, converted_at,
                      created + (rng.uniform(5, 200, n) * clock.DAY).astype(np.int64))
    has_opp = (converted & (rng.random(n) < 0.9)) | (existing_business & (opp_at < clock.ANCHOR))

    # an account exists before anyone at it shows up
    earliest = pd.Series(first_seen).groupby(acc).min()
    rows = earliest.index.to_numpy()
    account_created = accounts["created"].to_numpy().copy()
    account_created[rows] = np.minimum(account_created[rows], earliest.to_numpy()
                                       - rng.integers(clock.DAY, 90 * clock.DAY, len(rows)))
    accounts["created"] = account_created

    territory = a["territory"].to_numpy()
    inbound = np.isin(source_name, INBOUND)
    people = pd.DataFrame({
        "pid": start + np.arange(n),
        "acc": a["acc"].to_numpy(),
        "acc_row": acc,
        "first": first,
        "last": last,
        "email": _emails(rng, first, last, a["email_pattern"].to_numpy(), a["domain"].to_numpy()),
        "phone": _phone_digits(rng, world, a["country_no"].to_numpy()),
        "country_no": a["country_no"].to_numpy(),
        "title": np.array([t[0] for t in titles], dtype=object)[title],
        "source": source_name,
        "source_no": source,
        "engagement": engagement,
        "touches": touches,
        "logit": logit,
        "has_lead": has_lead,
        "first_seen": first_seen,
        "created": created,
        "converted": converted,
        "converted_at": np.where(converted, converted_at, 0),
        "has_opp": has_opp,
        "opp_at": opp_at,
        "lead_owner": world.org.assign(rng, territory, ("sdr", "ae")),
        "owner": world.org.assign(rng, territory, ("ae",)),
        "campaign": world.campaigns.pick(rng, source_name, created),
        "in_hubspot": rng.random(n) < np.where(inbound, 0.6, 0.25),
    })
    return Chunk(people=people, accounts=accounts)


def _phone_digits(rng: np.random.Generator, world: World, country: np.ndarray) -> np.ndarray:
    """National significant numbers (digits only); sources format them their own way."""
    lengths = np.array([sum(c.phone_groups) for c in world.vocab.countries])[country]
    digits = rng.integers(0, 10, size=(len(country), lengths.max())).astype(str)
    digits[:, 0] = rng.integers(2, 10, len(country)).astype(str)
    return np.array(["".join(row[:k]) for row, k in zip(digits, lengths, strict=True)],
                    dtype=object)
