"""The Salesforce weekly export's record tables: accounts, leads, contacts, opportunities.

Each person is a Lead (85%), converted into a Contact (+ Opportunity) when the latent model
says so; the other 15% exist only as Contacts of their account. Campaign members and tasks
are in `activities`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesops.demo import clock, ids, variants
from salesops.demo.people import Chunk, decision_delay
from salesops.demo.pipeline import FORECAST_API, FORECAST_NAME, PROBABILITY, STAGES, Deals
from salesops.demo.world import World
from salesops.demo.writer import Output

ACCOUNT_COLUMNS = [
    "Id", "Name", "Website", "Industry", "NumberOfEmployees", "AnnualRevenue", "BillingCountry",
    "BillingCity", "OwnerId", "Type", "CreatedDate", "LastModifiedDate", "IsDeleted",
    "Segment__c", "Tier__c",
]
CONTACT_COLUMNS = [
    "Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "Title", "LeadSource",
    "OwnerId", "HasOptedOutOfEmail", "CreatedDate", "LastModifiedDate", "IsDeleted",
    "Preferred_Channel__c",
]
LEAD_COLUMNS = [
    "Id", "FirstName", "LastName", "Email", "Phone", "Company", "Title", "Industry",
    "NumberOfEmployees", "LeadSource", "Status", "Rating", "OwnerId", "IsConverted",
    "ConvertedContactId", "ConvertedAccountId", "ConvertedOpportunityId", "ConvertedDate",
    "CreatedDate", "LastModifiedDate", "IsDeleted", "UTM_Source__c", "UTM_Campaign__c",
]
OPPORTUNITY_COLUMNS = [
    "Id", "AccountId", "Name", "StageName", "Amount", "Probability", "CloseDate", "Type",
    "LeadSource", "ForecastCategoryName", "IsClosed", "IsWon", "OwnerId", "CampaignId",
    "CreatedDate", "LastModifiedDate", "IsDeleted", "Loss_Reason__c", "Contact__c",
]
HISTORY_COLUMNS = [
    "Id", "OpportunityId", "StageName", "Amount", "Probability", "CloseDate", "ForecastCategory",
    "CreatedDate", "CreatedById",
]
PRODUCTS = ("Forecasting", "Lead Scoring", "Attribution", "Revenue Platform")


def account_id(acc: np.ndarray) -> np.ndarray:
    return ids.salesforce("001", acc)


def lead_id(pid: np.ndarray, duplicate: bool = False) -> np.ndarray:
    return ids.salesforce("00Q", np.asarray(pid) * 2 + int(duplicate))


def contact_id(pid: np.ndarray, duplicate: bool = False) -> np.ndarray:
    return ids.salesforce("003", np.asarray(pid) * 2 + int(duplicate))


def opportunity_id(pid: np.ndarray) -> np.ndarray:
    return ids.salesforce("006", pid)


def _bool(values: np.ndarray) -> np.ndarray:
    return np.where(values, "true", "false").astype(object)


def _later(rng: np.random.Generator, t: np.ndarray, max_days: float) -> np.ndarray:
    """A time after `t`, within `max_days` and before the anchor (a record's last edit)."""
    window = np.minimum(max_days * clock.DAY, clock.ANCHOR - t)
    return t + (rng.random(len(t)) * window).astype(np.int64)


def _int_text(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype(np.int64).astype(str).astype(object)


class SalesforceExport:
    """Writes User.csv and Campaign.csv up front, the record tables chunk by chunk."""

    def __init__(self, out: Output, world: World) -> None:
        self.world = world
        out.csv("salesforce/User.csv", list(world.org.frame.columns)).write(world.org.frame)
        out.csv("salesforce/Campaign.csv", list(world.campaigns.frame.columns)).write(
            world.campaigns.frame)
        self.accounts = out.csv("salesforce/Account.csv", ACCOUNT_COLUMNS)
        self.leads = out.csv("salesforce/Lead.csv", LEAD_COLUMNS)
        self.contacts = out.csv("salesforce/Contact.csv", CONTACT_COLUMNS)
        self.opportunities = out.csv("salesforce/Opportunity.csv", OPPORTUNITY_COLUMNS)
        self.history = out.csv("salesforce/OpportunityHistory.csv", HISTORY_COLUMNS)

    def write(self, rng: np.random.Generator, chunk: Chunk, deals: Deals) -> None:
        self.accounts.write(self._accounts(rng, chunk))
        self.leads.write(self._leads(rng, chunk))
        self.contacts.write(self._contacts(rng, chunk))
        self.opportunities.write(self._opportunities(rng, chunk, deals))
        self.history.write(self._history(deals))

    def _accounts(self, rng: np.random.Generator, chunk: Chunk) -> pd.DataFrame:
        a = chunk.accounts
        n = len(a)
        countries = self.world.vocab.countries
        country = np.array([countries[c].name for c in a["country_no"]], dtype=object)
        for i in np.flatnonzero(rng.random(n) < 0.1):
            aliases = countries[a["country_no"].iat[i]].aliases
            country[i] = aliases[rng.integers(len(aliases))]
        domain = a["domain"].to_numpy()
        website = np.select([rng.random(n) < 0.5, rng.random(n) < 0.5],
                            ["www." + domain, "https://www." + domain], "http://" + domain + "/")
        return pd.DataFrame({
            "Id": account_id(a["acc"].to_numpy()),
            "Name": a["name"].to_numpy(),
            "Website": variants.blank(rng, website, 0.1),
            "Industry": variants.blank(rng, a["industry"].to_numpy(), 0.08),
            "NumberOfEmployees": variants.blank(rng, _int_text(a["employees"]), 0.1),
            "AnnualRevenue": variants.blank(rng, _int_text(a["revenue"]), 0.3),
            "BillingCountry": variants.blank(rng, country, 0.03),
            "BillingCity": variants.blank(rng, a["city"].to_numpy(), 0.05),
            "OwnerId": self.world.org.ids[a["owner"].to_numpy()],
            "Type": variants.blank(rng, a["type"].to_numpy(), 0.05),
            "CreatedDate": clock.sf_datetime(a["created"].to_numpy()),
            "LastModifiedDate": clock.sf_datetime(_later(rng, a["created"].to_numpy(), 400)),
            "IsDeleted": _bool(rng.random(n) < 0.01),
            "Segment__c": a["segment"].to_numpy(),
            "Tier__c": variants.blank(rng, a["tier"].to_numpy(), 0.15),
        })

    def _leads(self, rng: np.random.Generator, chunk: Chunk) -> pd.DataFrame:
        vocab = self.world.vocab
        p = chunk.people[chunk.people["has_lead"].to_numpy()]
        a = chunk.accounts.iloc[p["acc_row"].to_numpy()]
        n = len(p)
        pid = p["pid"].to_numpy()
        created = p["created"].to_numpy()
        converted = p["converted"].to_numpy()
        converted_at = p["converted_at"].to_numpy()
        age = clock.ANCHOR - created
        roll = rng.random(n)
        status = np.select(
            [converted, age < 14 * clock.DAY, age < 60 * clock.DAY, roll < 0.85, roll < 0.95],
            ["Closed - Converted",
             np.where(roll < 0.6, "Open - Not Contacted", "Working - Contacted"),
             np.where(roll < 0.65, "Working - Contacted", "Closed - Not Converted"),
             "Closed - Not Converted", "Working - Contacted"],
            "Open - Not Contacted",
        )
        # the last status change of unconverted leads comes as late as a conversion would,
        # so that LastModifiedDate does not tell the outcome
        decided = clock.before_anchor(rng, created + decision_delay(rng, n))
        judged = p["logit"].to_numpy() + rng.normal(0, 1.2, n)
        rating = np.select([judged > -0.8, judged > -2.2], ["Hot", "Warm"], "Cold")
        campaign = p["campaign"].to_numpy()
        has_campaign = campaign >= 0
        utm_source = np.array([s.utm_source for s in vocab.sources], dtype=object)[
            p["source_no"].to_numpy()]
        utm_campaign = np.where(has_campaign, self.world.campaigns.utm[campaign], "")
        tracked = rng.random(n) < 0.8
        has_opp = p["has_opp"].to_numpy()
        frame = pd.DataFrame({
            "Id": lead_id(pid),
            "FirstName": variants.names(rng, variants.first_names(
                rng, vocab, p["first"].to_numpy(), 0.03), lower=0.02, space=0.005),
            "LastName": variants.names(rng, p["last"].to_numpy(), lower=0.02, upper=0.01),
            "Email": variants.emails(rng, p["email"].to_numpy(), case=0.04, space=0.01,
                                     tag=0.01, broken=0.02),
            "Phone": variants.phones(rng, vocab, p["phone"].to_numpy(),
                                     p["country_no"].to_numpy(), blank=0.2),
            "Company": variants.companies(rng, a["name"].to_numpy(), 0.1),
            "Title": variants.blank(rng, variants.names(rng, p["title"].to_numpy(), lower=0.03),
                                    0.08),
            "Industry": variants.blank(rng, a["industry"].to_numpy(), 0.15),
            "NumberOfEmployees": variants.blank(rng, _int_text(a["employees"]), 0.25),
            "LeadSource": variants.blank(rng, p["source"].to_numpy(), 0.03),
            "Status": status,
            "Rating": variants.blank(rng, rating, 0.45),
            "OwnerId": self.world.org.ids[p["lead_owner"].to_numpy()],
            "IsConverted": _bool(converted),
            "ConvertedContactId": np.where(converted, contact_id(pid), ""),
            "ConvertedAccountId": np.where(converted, account_id(p["acc"].to_numpy()), ""),
            "ConvertedOpportunityId": np.where(converted & has_opp, opportunity_id(pid), ""),
            "ConvertedDate": clock.sf_date(converted_at, missing=~converted),
            "CreatedDate": clock.sf_datetime(created),
            "LastModifiedDate": clock.sf_datetime(np.where(converted, converted_at, decided)),
            "IsDeleted": _bool(rng.random(n) < 0.01),
            "UTM_Source__c": np.where(has_campaign & tracked, utm_source, ""),
            "UTM_Campaign__c": np.where(has_campaign & tracked, utm_campaign, ""),
        })
        return pd.concat([frame, self._duplicate_leads(rng, frame, pid, created)],
                         ignore_index=True)

    @staticmethod
    def _duplicate_leads(rng: np.random.Generator, leads: pd.DataFrame, pid: np.ndarray,
                         created: np.ndarray) -> pd.DataFrame:
        """The same person entered again later (a second list upload, a rep's manual entry)."""
        rows = np.flatnonzero(rng.random(len(leads)) < 0.012)
        dup = leads.iloc[rows].copy()
        again = _later(rng, created[rows], 60)
        dup["Id"] = lead_id(pid[rows], duplicate=True)
        dup["Status"] = "Open - Not Contacted"
        dup["IsConverted"] = "false"
        for column in ("ConvertedContactId", "ConvertedAccountId", "ConvertedOpportunityId",
                       "ConvertedDate"):
            dup[column] = ""
        dup["CreatedDate"] = clock.sf_datetime(again)
        dup["LastModifiedDate"] = clock.sf_datetime(again)
        return dup

    def _contacts(self, rng: np.random.Generator, chunk: Chunk) -> pd.DataFrame:
        vocab = self.world.vocab
        people = chunk.people
        p = people[(people["converted"] | ~people["has_lead"]).to_numpy()]
        n = len(p)
        pid = p["pid"].to_numpy()
        created = np.where(p["converted"].to_numpy(), p["converted_at"].to_numpy(),
                           p["created"].to_numpy())
        source = np.where(p["has_lead"].to_numpy(), p["source"].to_numpy(),
                          variants.blank(rng, p["source"].to_numpy(), 0.3))
        frame = pd.DataFrame({
            "Id": contact_id(pid),
            "AccountId": variants.blank(rng, account_id(p["acc"].to_numpy()), 0.02),
            "FirstName": variants.first_names(rng, vocab, p["first"].to_numpy(), 0.08),
            "LastName": p["last"].to_numpy(),
            "Email": variants.emails(rng, p["email"].to_numpy(), case=0.05, space=0.01,
                                     broken=0.02),
            "Phone": variants.phones(rng, vocab, p["phone"].to_numpy(),
                                     p["country_no"].to_numpy(), blank=0.25),
            "Title": variants.blank(rng, p["title"].to_numpy(), 0.05),
            "LeadSource": source,
            "OwnerId": self.world.org.ids[p["owner"].to_numpy()],
            "HasOptedOutOfEmail": _bool(rng.random(n) < 0.05),
            "CreatedDate": clock.sf_datetime(created),
            "LastModifiedDate": clock.sf_datetime(_later(rng, created, 200)),
            "IsDeleted": _bool(rng.random(n) < 0.005),
            "Preferred_Channel__c": rng.choice(np.array(["Email", "Phone", "LinkedIn", ""],
                                                        dtype=object), n, p=[.5, .2, .1, .2]),
        })
        rows = np.flatnonzero(rng.random(n) < 0.01)
        dup = frame.iloc[rows].copy()
        dup["Id"] = contact_id(pid[rows], duplicate=True)
        return pd.concat([frame, dup], ignore_index=True)

    def _opportunities(self, rng: np.random.Generator, chunk: Chunk, deals: Deals
                       ) -> pd.DataFrame:
        o = deals.opps
        n = len(o)
        stage = o["stage"].to_numpy()
        account = chunk.accounts.iloc[o["acc_row"].to_numpy()]
        product = rng.choice(np.array(PRODUCTS, dtype=object), n)
        campaign = o["campaign"].to_numpy()
        keep_campaign = (campaign >= 0) & (rng.random(n) < 0.7)
        close = clock.sf_date(o["close"].to_numpy())
        return pd.DataFrame({
            "Id": opportunity_id(o["pid"].to_numpy()),
            "AccountId": account_id(account["acc"].to_numpy()),
            "Name": account["name"].to_numpy() + " - " + product + " ("
            + o["seats"].astype(str).to_numpy() + " seats)",
            "StageName": np.array(STAGES, dtype=object)[stage],
            "Amount": variants.blank(rng, variants.amounts(rng, o["amount"].to_numpy(), 0.01),
                                     0.02),
            "Probability": np.array(PROBABILITY)[stage].astype(str),
            "CloseDate": variants.dates(rng, close, 0.01),
            "Type": np.where(o["new_business"].to_numpy(), "New Business", "Existing Business"),
            "LeadSource": variants.blank(rng, o["source"].to_numpy(), 0.05),
            "ForecastCategoryName": np.array(FORECAST_NAME, dtype=object)[stage],
            "IsClosed": _bool(o["closed"].to_numpy()),
            "IsWon": _bool(o["won"].to_numpy()),
            "OwnerId": self.world.org.ids[o["owner"].to_numpy()],
            "CampaignId": np.where(keep_campaign,
                                   self.world.campaigns.frame["Id"].to_numpy()[campaign], ""),
            "CreatedDate": clock.sf_datetime(o["created"].to_numpy()),
            "LastModifiedDate": clock.sf_datetime(o["modified"].to_numpy()),
            "IsDeleted": _bool(rng.random(n) < 0.005),
            "Loss_Reason__c": o["loss_reason"].to_numpy(),
            "Contact__c": contact_id(o["pid"].to_numpy()),
        })

    def _history(self, deals: Deals) -> pd.DataFrame:
        h = deals.history
        stage = h["stage"].to_numpy()
        pid = h["pid"].to_numpy()
        owner = deals.opps["owner"].to_numpy()[h["opp"].to_numpy()]
        return pd.DataFrame({
            "Id": ids.salesforce("008", pid * 8 + stage),
            "OpportunityId": opportunity_id(pid),
            "StageName": np.array(STAGES, dtype=object)[stage],
            "Amount": np.char.mod("%.2f", h["amount"].to_numpy()).astype(object),
            "Probability": np.array(PROBABILITY)[stage].astype(str),
            "CloseDate": clock.sf_date(h["close"].to_numpy()),
            "ForecastCategory": np.array(FORECAST_API, dtype=object)[stage],
            "CreatedDate": clock.sf_datetime(h["created"].to_numpy()),
            "CreatedById": self.world.org.ids[owner],
        })
