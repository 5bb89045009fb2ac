"""HubSpot CRM v3 list responses for contacts, companies and deals.

Marketing-sourced people are more often in HubSpot. Property values are strings or null,
as the API returns them; contacts and deals carry their associations. HubSpot merges exact
email matches, so its duplicates differ in the address (`+tag`, case).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesops.demo import clock, ids, variants
from salesops.demo.people import Chunk
from salesops.demo.pipeline import STAGES, Deals
from salesops.demo.world import World
from salesops.demo.writer import Output

DEAL_STAGES = dict(zip(STAGES, ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                                "decisionmakerboughtin", "contractsent", "closedwon",
                                "closedlost"), strict=True))
LEAD_STATUSES = np.array(["NEW", "OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED",
                          "UNQUALIFIED", "BAD_TIMING"], dtype=object)


def _text(values: np.ndarray) -> list[str | None]:
    """HubSpot sends unset properties as null, not as empty strings."""
    return [v if v != "" else None for v in values]


def _record(object_id: str, properties: dict[str, Any], created: str, updated: str,
            associations: dict[str, list[tuple[str, str]]] | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": object_id, "properties": properties, "createdAt": created,
                              "updatedAt": updated, "archived": False}
    if associations:
        record["associations"] = {
            kind: {"results": [{"id": i, "type": t} for i, t in links]}
            for kind, links in associations.items()
        }
    return record


class HubSpotExport:
    def __init__(self, out: Output, world: World) -> None:
        self.world = world
        self.contacts = out.pages("hubspot/contacts", "objects/contacts")
        self.companies = out.pages("hubspot/companies", "objects/companies")
        self.deals = out.pages("hubspot/deals", "objects/deals")
        self.owner_ids = ids.hubspot("owners", np.arange(len(world.org.ids)))
        out.pages("hubspot/owners", "owners").write(self._owners())

    def _owners(self) -> list[dict[str, Any]]:
        """The owners API (/crm/v3/owners): what `hubspot_owner_id` values resolve to."""
        users = self.world.org.frame
        created = users["CreatedDate"].str.replace(".000+0000", ".000Z", regex=False)
        team_ids = ids.hubspot("teams", pd.factorize(users["Team__c"])[0])
        return [
            {"id": owner, "email": email, "type": "PERSON", "firstName": first,
             "lastName": last, "userId": int(owner) % 10_000_000, "createdAt": at,
             "updatedAt": at, "archived": False,
             "teams": [{"id": team_id, "name": team, "primary": True}]}
            for owner, email, first, last, at, team_id, team in zip(
                self.owner_ids, users["Email"], users["FirstName"], users["LastName"], created,
                team_ids, users["Team__c"], strict=True)
        ]

    def write(self, rng: np.random.Generator, chunk: Chunk, deals: Deals) -> None:
        people = chunk.people[chunk.people["in_hubspot"].to_numpy()].reset_index(drop=True)
        accounts = np.unique(people["acc_row"].to_numpy())
        company_ids = np.full(len(chunk.accounts), "", dtype=object)
        company_ids[accounts] = ids.hubspot("companies", chunk.accounts["acc"].to_numpy()[accounts])
        self.companies.write(self._companies(rng, chunk, people, accounts, company_ids))
        contact_ids = ids.hubspot("contacts", people["pid"].to_numpy() * 2)
        won = np.isin(people["pid"].to_numpy(), deals.opps["pid"].to_numpy()[deals.opps["won"]])
        self.contacts.write(self._contacts(rng, chunk, people, won, contact_ids, company_ids))
        self.deals.write(self._deals(rng, chunk, deals, people, contact_ids, company_ids))

    def _companies(self, rng: np.random.Generator, chunk: Chunk, people: pd.DataFrame,
                   rows: np.ndarray, company_ids: np.ndarray) -> list[dict[str, Any]]:
        a = chunk.accounts.iloc[rows]
        n = len(a)
        vocab = self.world.vocab
        first_contact = people.groupby("acc_row")["first_seen"].min().reindex(rows).to_numpy()
        created = clock.iso_z(first_contact)
        updated = clock.iso_z(first_contact + (rng.random(n) * np.minimum(
            300 * clock.DAY, clock.ANCHOR - first_contact)).astype(np.int64))
        columns = {
            "name": variants.companies(rng, a["name"].to_numpy(), 0.05),
            "domain": a["domain"].to_numpy(),
            "industry": variants.blank(rng, np.array(
                [vocab.industries[i].hubspot for i in a["industry_no"]], dtype=object), 0.2),
            "numberofemployees": variants.blank(rng, a["employees"].astype(str).to_numpy(), 0.2),
            "annualrevenue": variants.blank(rng, a["revenue"].astype(np.int64).astype(str)
                                            .to_numpy(), 0.4),
            "city": variants.blank(rng, a["city"].to_numpy(), 0.1),
            "country": variants.blank(rng, np.array(
                [vocab.countries[c].name for c in a["country_no"]], dtype=object), 0.1),
        }
        out = []
        for i in range(n):
            props = {k: v[i] or None for k, v in columns.items()}
            props |= {"createdate": created[i], "hs_lastmodifieddate": updated[i],
                      "hs_object_id": company_ids[rows[i]]}
            out.append(_record(company_ids[rows[i]], props, created[i], updated[i]))
        return out

    def _contacts(self, rng: np.random.Generator, chunk: Chunk, p: pd.DataFrame, won: np.ndarray,
                  contact_ids: np.ndarray, company_ids: np.ndarray) -> list[dict[str, Any]]:
        vocab = self.world.vocab
        n = len(p)
        a = chunk.accounts.iloc[p["acc_row"].to_numpy()]
        has_opp = p["has_opp"].to_numpy()
        converted = p["converted"].to_numpy()
        lifecycle = np.select(
            [won, has_opp, converted, p["engagement"].to_numpy() > 0.8,
             np.isin(p["source"].to_numpy(), ["Email", "Webinar"])],
            ["customer", "opportunity", "salesqualifiedlead", "marketingqualifiedlead",
             "subscriber"], "lead")
        status = np.where(has_opp | converted, "OPEN_DEAL", rng.choice(LEAD_STATUSES, n))
        created_t = np.minimum(p["first_seen"].to_numpy() + rng.integers(0, 2 * clock.DAY, n),
                               p["created"].to_numpy())
        updated_t = created_t + (rng.random(n) * np.minimum(
            200 * clock.DAY, clock.ANCHOR - created_t)).astype(np.int64)
        columns = {
            "email": variants.emails(rng, p["email"].to_numpy(), case=0.05, space=0.005,
                                     tag=0.06, broken=0.02),
            "firstname": variants.names(rng, variants.first_names(
                rng, vocab, p["first"].to_numpy(), 0.1), lower=0.03, space=0.01),
            "lastname": variants.names(rng, p["last"].to_numpy(), lower=0.03),
            "phone": variants.phones(rng, vocab, p["phone"].to_numpy(),
                                     p["country_no"].to_numpy(), blank=0.5),
            "company": variants.blank(rng, variants.companies(rng, a["name"].to_numpy(), 0.15),
                                      0.1),
            "jobtitle": variants.blank(rng, p["title"].to_numpy(), 0.2),
            "lifecyclestage": lifecycle,
            "hs_lead_status": variants.blank(rng, status, 0.2),
            "hs_analytics_source": np.array([s.hubspot for s in vocab.sources], dtype=object)[
                p["source_no"].to_numpy()],
            "hubspot_owner_id": self.owner_ids[p["owner"].to_numpy()],
        }
        created = clock.iso_z(created_t)
        updated = clock.iso_z(updated_t)
        company = company_ids[p["acc_row"].to_numpy()]
        out = []
        for i in range(n):
            props = {k: v[i] or None for k, v in columns.items()}
            props |= {"createdate": created[i], "lastmodifieddate": updated[i],
                      "hs_object_id": contact_ids[i]}
            out.append(_record(contact_ids[i], props, created[i], updated[i],
                               {"companies": [(company[i], "contact_to_company")]}))
        duplicates = []
        pid = p["pid"].to_numpy()
        for i in np.flatnonzero(rng.random(n) < 0.015):
            again = ids.hubspot("contacts", pid[i : i + 1] * 2 + 1)[0]
            props = dict(out[i]["properties"])
            local, domain = p["email"].iat[i].split("@", 1)
            props |= {"email": f"{local}+{variants.TAGS[rng.integers(len(variants.TAGS))]}@"
                               f"{domain}", "hs_object_id": again}
            duplicates.append(_record(again, props, updated[i], updated[i],
                                      {"companies": [(company[i], "contact_to_company")]}))
        return out + duplicates

    def _deals(self, rng: np.random.Generator, chunk: Chunk, deals: Deals, people: pd.DataFrame,
               contact_ids: np.ndarray, company_ids: np.ndarray) -> list[dict[str, Any]]:
        o = deals.opps
        row_of = pd.Series(np.arange(len(people)), index=people["pid"].to_numpy())
        mirrored = o["pid"].isin(row_of.index).to_numpy() & (rng.random(len(o)) < 0.6)
        o = o[mirrored]
        n = len(o)
        person = row_of.loc[o["pid"].to_numpy()].to_numpy()
        deal_ids = ids.hubspot("deals", o["pid"].to_numpy())
        amount = o["amount"].to_numpy()
        amount_text = np.where(rng.random(n) < 0.03, [f"{v:,.2f}" for v in amount],
                               [f"{v:.0f}" for v in amount])
        stage = np.array([DEAL_STAGES[STAGES[s]] for s in o["stage"]], dtype=object)
        created = clock.iso_z(o["created"].to_numpy())
        updated = clock.iso_z(o["modified"].to_numpy())
        close = clock.iso_z(o["close"].to_numpy())
        owner = self.owner_ids[o["owner"].to_numpy()]
        new_business = o["new_business"].to_numpy()
        acc_row = o["acc_row"].to_numpy()
        company_name = chunk.accounts["name"].to_numpy()[acc_row]
        out = []
        for i in range(n):
            props = {
                "dealname": f"{company_name[i]} - "
                            f"{'New Deal' if new_business[i] else 'Expansion'}",
                "amount": amount_text[i],
                "dealstage": stage[i],
                "pipeline": "default",
                "closedate": close[i],
                "dealtype": "newbusiness" if new_business[i] else "existingbusiness",
                "hubspot_owner_id": owner[i],
                "createdate": created[i],
                "hs_lastmodifieddate": updated[i],
                "hs_object_id": deal_ids[i],
            }
            out.append(_record(deal_ids[i], props, created[i], updated[i], {
                "contacts": [(contact_ids[person[i]], "deal_to_contact")],
                "companies": [(company_ids[acc_row[i]], "deal_to_company")],
            }))
        return out
