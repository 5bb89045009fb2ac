"""Web-form submissions and touchpoint events (the marketing site and ad/email trackers).

Touchpoint counts and their mix (form fills, meetings, email clicks) follow each person's
latent engagement, which also drives conversion: this is the engagement signal a lead
score can learn. Events carry an anonymous device id and, once the person has identified
themselves, sometimes their email. Anonymous visitors who never convert are mixed in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from salesops.demo import clock, ids, variants
from salesops.demo.people import Chunk
from salesops.demo.vocab import VENDOR, VENDOR_DOMAIN
from salesops.demo.world import World
from salesops.demo.writer import Output

SITE = f"https://www.{VENDOR_DOMAIN}"
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
)
PAGES = ("/", "/pricing", "/product/forecasting", "/product/lead-scoring", "/product/attribution",
         "/customers", "/blog/pipeline-hygiene", "/blog/forecast-accuracy", "/blog/what-is-revops")
# form -> (page, lead sources that favour it)
FORMS = {
    "contact-us": ("/contact", ("Web", "Trade Show", "Partner Referral", "Employee Referral",
                                "Cold Call", "Purchased List")),
    "demo-request": ("/demo", ("Web", "Paid Search", "Social Media")),
    "webinar-registration": ("/webinars/register", ("Webinar",)),
    "ebook-download": ("/resources/state-of-revops-2026", ("Paid Search", "Social Media", "Email")),
    "newsletter": ("/blog/subscribe", ("Email", "Web")),
}
FORM_RATE = {"Web": 1.1, "Paid Search": 0.9, "Social Media": 0.7, "Webinar": 1.0, "Email": 0.4,
             "Trade Show": 0.2, "Partner Referral": 0.2, "Employee Referral": 0.1,
             "Cold Call": 0.05, "Purchased List": 0.05}
MESSAGES = ("", "", "", "Please send pricing.", "Interested in a demo for our RevOps team.",
            "We are evaluating forecasting tools for our sales team.",
            "Can you integrate with Salesforce and HubSpot?",
            "How does your attribution handle offline events?", "Just browsing for now.",
            "Our current lead scoring is a spreadsheet. Help!")
CONSENT_TEXT = (f"I agree to receive marketing communications from {VENDOR}. "
                "I can unsubscribe at any time.")
EVENT_TYPES = ("session", "ad_click", "email_open", "email_click", "form_fill", "meeting")
EVENT_BASE = np.array([1.6, 0.2, 0.9, 0.0, -0.6, -1.4])
EVENT_ENGAGEMENT = np.array([0.0, 0.0, 0.1, 0.3, 0.5, 0.6])
# channel -> (lead source whose campaigns run on it, utm medium, referrer)
CHANNELS = {
    "organic_search": (None, None, "https://www.google.com/"),
    "paid_search": ("Paid Search", "cpc", "https://www.google.com/"),
    "paid_social": ("Social Media", "paid_social", "https://www.linkedin.com/"),
    "email": ("Email", "email", None),
    "direct": (None, None, None),
    "referral": ("Employee Referral", "referral", "https://www.g2.com/"),
    "events": ("Trade Show", "event", None),
    "partner": ("Partner Referral", "partner", "https://partners.example.org/"),
}
UTM_SOURCE = {"paid_search": "google", "paid_social": "linkedin", "email": "newsletter",
              "events": "event", "partner": "partner", "referral": "referral"}
SESSION_CHANNELS = ("organic_search", "direct", "referral", "paid_search")
SESSION_P = (0.45, 0.3, 0.1, 0.15)
NO_UTM = {"source": None, "medium": None, "campaign": None, "content": None, "term": None}
TERMS = ("sales forecasting software", "lead scoring tool", "revops platform",
         "marketing attribution", "pipeline analytics")


def _utm(channel: str, campaign_slug: str | None, rng_pick: float) -> dict[str, str | None]:
    if campaign_slug is None:
        return NO_UTM
    return {"source": UTM_SOURCE[channel], "medium": CHANNELS[channel][1],
            "campaign": campaign_slug,
            "content": ("variant-a", "variant-b", None)[int(rng_pick * 3)],
            "term": TERMS[int(rng_pick * len(TERMS))] if channel == "paid_search" else None}


class WebExport:
    def __init__(self, out: Output, world: World) -> None:
        self.world = world
        self.forms = out.jsonl("webforms/submissions.jsonl")
        self.events = out.jsonl("touchpoints/events.jsonl")

    def write(self, rng: np.random.Generator, chunk: Chunk) -> None:
        self.forms.write(self._submissions(rng, chunk))
        self.events.write(self._events(rng, chunk))

    def _campaigns(self, rng: np.random.Generator, channel: np.ndarray, t: np.ndarray,
                   own: np.ndarray) -> np.ndarray:
        """The person's own campaign where the channel is theirs, else one running then."""
        served = np.array([CHANNELS[c][0] or "" for c in channel], dtype=object)
        return np.where(own >= 0, own, self.world.campaigns.pick(rng, served, t))

    def _submissions(self, rng: np.random.Generator, chunk: Chunk) -> list[dict[str, Any]]:
        vocab = self.world.vocab
        p = chunk.people
        source = p["source"].to_numpy()
        rate = np.array([FORM_RATE[s] for s in source]) * np.exp(0.3 * p["engagement"].to_numpy())
        count = np.minimum(rng.poisson(rate), 4)
        person = np.repeat(np.arange(len(p)), count)
        first = np.r_[True, person[1:] != person[:-1]] if len(person) else np.zeros(0, bool)
        n = len(person)
        later = p["created"].to_numpy()[person] + rng.integers(0, 120, n) * clock.DAY
        at = np.where(first, p["first_seen"].to_numpy()[person] + rng.integers(0, 600, n), later)
        at = clock.before_anchor(rng, at)
        submitted = clock.iso_z(at)
        for i in np.flatnonzero(rng.random(n) < 0.02):
            submitted[i] = (submitted[i][:19].replace("T", " ") if rng.random() < 0.5
                            else str(int(at[i]) * 1000))
        favoured = {k: [f for f, (_, s) in FORMS.items() if k in s] for k in FORM_RATE}
        form = np.array([favoured[s][int(u * len(favoured[s]))] for s, u in
                         zip(source[person], rng.random(n), strict=True)], dtype=object)
        channel = np.array([vocab.sources[s].channel or "direct"
                            for s in p["source_no"].to_numpy()[person]], dtype=object)
        campaign = self._campaigns(rng, channel, at, np.where(
            first, p["campaign"].to_numpy()[person], -1))
        a = chunk.accounts.iloc[p["acc_row"].to_numpy()[person]]
        fields = {
            "email": variants.emails(rng, p["email"].to_numpy()[person], case=0.08, space=0.02,
                                     tag=0.05, broken=0.02),
            "first_name": variants.names(rng, variants.first_names(
                rng, vocab, p["first"].to_numpy()[person], 0.1), lower=0.08, space=0.02),
            "last_name": variants.names(rng, p["last"].to_numpy()[person], lower=0.06),
            "company": variants.blank(rng, variants.companies(rng, a["name"].to_numpy(), 0.2),
                                      0.05),
            "phone": variants.phones(rng, vocab, p["phone"].to_numpy()[person],
                                     p["country_no"].to_numpy()[person], blank=0.5),
            "job_title": variants.blank(rng, variants.names(rng, p["title"].to_numpy()[person],
                                                            lower=0.1), 0.3),
            "message": rng.choice(np.array(MESSAGES, dtype=object), n),
        }
        marketing = (rng.random(n) < 0.7).tolist()
        slug = np.append(self.world.campaigns.utm, None)[campaign].tolist()
        picks = rng.random(n).tolist()
        ips = [".".join(map(str, octets)) for octets in rng.integers(1, 255, size=(n, 4)).tolist()]
        agents = np.array(USER_AGENTS, dtype=object)[rng.integers(0, len(USER_AGENTS), n)]
        submission_ids = ids.uuids(rng, n)
        values = {k: v.tolist() for k, v in fields.items()}
        out = []
        for i in range(n):
            utm = _utm(channel[i], slug[i], picks[i])
            query = "&".join(f"utm_{k}={v}" for k, v in utm.items() if v)
            out.append({
                "submission_id": submission_ids[i],
                "form_key": form[i],
                "submitted_at": submitted[i],
                "fields": {k: v[i] for k, v in values.items()},
                "utm": utm,
                "consent": {"marketing": marketing[i], "text": CONSENT_TEXT,
                            "given_at": submitted[i] if marketing[i] else None},
                "page_url": f"{SITE}{FORMS[form[i]][0]}" + (f"?{query}" if query else ""),
                "ip": ips[i],
                "user_agent": agents[i],
            })
        for i in np.flatnonzero(rng.random(n) < 0.01):  # double-clicked submit button
            again = dict(out[i], submission_id=ids.uuids(rng, 1)[0])
            out.append(again)
        return out

    def _events(self, rng: np.random.Generator, chunk: Chunk) -> list[dict[str, Any]]:
        p = chunk.people
        touches = p["touches"].to_numpy()
        person = np.repeat(np.arange(len(p)), touches)
        n = len(person)
        engagement = p["engagement"].to_numpy()[person]
        weight = np.exp(EVENT_BASE[None, :] + EVENT_ENGAGEMENT[None, :] * engagement[:, None])
        cum = np.cumsum(weight / weight.sum(axis=1, keepdims=True), axis=1)
        kind = np.minimum((rng.random((n, 1)) > cum).sum(axis=1), len(EVENT_TYPES) - 1)
        first_seen = p["first_seen"].to_numpy()[person]
        span = np.minimum(clock.ANCHOR - first_seen, 150 * clock.DAY)
        at = first_seen + ((rng.random(n) - 0.15) * span).astype(np.int64)
        at = clock.before_anchor(rng, at)
        identified = at >= p["created"].to_numpy()[person]

        devices = ids.uuids(rng, 2 * len(p)).reshape(len(p), 2)
        device = devices[person, (rng.random(n) < 0.25).astype(int)]
        source_channel = np.array([self.world.vocab.sources[s].channel or "direct"
                                   for s in p["source_no"].to_numpy()], dtype=object)[person]
        browse = rng.choice(np.array(SESSION_CHANNELS, dtype=object), n, p=SESSION_P)
        from_source = rng.random(n) < 0.6
        channel = np.where(from_source, source_channel, browse)
        channel = np.select(
            [kind == 1, (kind == 2) | (kind == 3), kind == 5],
            [np.where(source_channel == "paid_social", "paid_social", "paid_search"), "email",
             np.where(rng.random(n) < 0.3, "events", "direct")], channel)
        channel = np.where((channel == "organic_search") & (kind == 1), "paid_search", channel)
        with_email = (kind >= 2) | (identified & (rng.random(n) < 0.3) & (kind == 0))
        email = np.where(with_email, variants.emails(
            rng, p["email"].to_numpy()[person], case=0.03, tag=0.02, broken=0.0), None)

        noise = int(0.25 * n)
        n_all = n + noise
        kind = np.concatenate([kind, np.where(rng.random(noise) < 0.85, 0, 1)])
        channel = np.concatenate([channel, np.where(
            kind[n:] == 1, "paid_search", rng.choice(np.array(SESSION_CHANNELS, dtype=object),
                                                     noise, p=SESSION_P))])
        at = np.concatenate([at, clock.ANCHOR - rng.integers(60, clock.HISTORY_DAYS * clock.DAY,
                                                              noise)])
        device = np.concatenate([device, ids.uuids(rng, noise)])
        email = np.concatenate([email, np.full(noise, None, dtype=object)])

        own = np.where(channel[:n] == source_channel, p["campaign"].to_numpy()[person], -1)
        campaign = self._campaigns(rng, channel, at, np.concatenate([own, np.full(noise, -1)]))
        cost = np.round(rng.lognormal(np.where(channel == "paid_social", np.log(1.8),
                                               np.log(3.2)), 0.5), 2)
        order = np.argsort(at, kind="stable")
        columns = (
            ids.uuids(rng, n_all),
            np.array(EVENT_TYPES, dtype=object)[kind],
            clock.iso_z(at),
            device,
            email,
            channel,
            np.append(self.world.campaigns.names, None)[campaign],
            np.append(self.world.campaigns.utm, None)[campaign],
            rng.random(n_all),
            np.where(np.isin(kind, (2, 5)), None,
                     SITE + rng.choice(np.array(PAGES, dtype=object), n_all)),
            np.where(np.isin(kind, (0, 1, 4)),
                     np.array([CHANNELS[c][2] for c in channel], dtype=object), None),
            np.where(kind == 1, cost, None),
        )
        out = [
            {"event_id": event_id, "event_type": event_type, "occurred_at": occurred_at,
             "anonymous_id": anonymous_id, "email": address, "channel": c, "campaign": name,
             "utm": _utm(c, slug, pick), "page_url": url, "referrer": referrer, "cost": spent}
            for (event_id, event_type, occurred_at, anonymous_id, address, c, name, slug, pick,
                 url, referrer, spent) in zip(*(col[order].tolist() for col in columns),
                                              strict=True)
        ]
        for i in np.flatnonzero(rng.random(len(out)) < 0.005):  # at-least-once delivery
            out.append(out[i])
        return out

