"""Word lists and business tables the generator samples from, loaded once per run.

Names come from Faker's locale providers as static lists (no per-row Faker calls, no Faker
random state). The business tables carry the effects of the latent conversion model next to
the words they belong to, so the signal a model can learn is visible in one place.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np
from faker.providers.person.de_DE import Provider as PersonDE
from faker.providers.person.en_US import Provider as PersonUS
from faker.providers.person.es_ES import Provider as PersonES
from faker.providers.person.fr_FR import Provider as PersonFR
from faker.providers.person.pt_BR import Provider as PersonBR

VENDOR = "Northwind Analytics"  # the company whose sales team the demo data belongs to
VENDOR_DOMAIN = "northwind.example"


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only: how names become email local parts."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


@dataclass(frozen=True)
class Names:
    """First and last names of one locale with their sampling weights."""

    first: np.ndarray
    first_p: np.ndarray
    last: np.ndarray
    last_p: np.ndarray


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    aliases: tuple[str, ...]  # how people mistype it in CRMs
    weight: float
    locale: str
    tld: str
    phone_cc: str
    phone_groups: tuple[int, ...]
    cities: tuple[tuple[str, str], ...]  # (city, sales territory)


@dataclass(frozen=True)
class Industry:
    name: str
    weight: float
    fit: float  # effect on the conversion logit
    hubspot: str
    nouns: tuple[str, ...]


@dataclass(frozen=True)
class LeadSource:
    name: str
    weight: float
    effect: float  # effect on the conversion logit
    engagement: float  # shift of the latent engagement
    channel: str | None  # touchpoint channel of its campaigns
    hubspot: str  # hs_analytics_source
    utm_source: str


@dataclass(frozen=True)
class Vocab:
    names: dict[str, Names]
    countries: tuple[Country, ...]
    industries: tuple[Industry, ...]
    sources: tuple[LeadSource, ...]
    titles: tuple[tuple[str, int, str], ...]  # (title, seniority 0..5, function)
    seniority_fit: tuple[float, ...]
    function_fit: dict[str, float]
    nicknames: dict[str, str]
    company_suffixes: dict[str, tuple[str, ...]]
    territories: tuple[str, ...]


def _weighted(table: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.array(list(table))
    weights = np.array(list(table.values()), dtype=float)
    return keys, weights / weights.sum()


def _uniform(values: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.array(sorted(set(values)))
    return keys, np.full(len(keys), 1 / len(keys))


def _names(provider: type, weighted: bool) -> Names:
    if weighted:
        first, first_p = _weighted({**provider.first_names_male, **provider.first_names_female})
        last, last_p = _weighted(provider.last_names)
    else:
        first, first_p = _uniform(provider.first_names_male + provider.first_names_female)
        last, last_p = _uniform(tuple(provider.last_names))
    return Names(first, first_p, last, last_p)


COUNTRIES = (
    Country("US", "United States", ("USA", "US", "U.S."), 0.42, "en", "com", "1", (3, 3, 4),
            (("New York", "NA East"), ("Boston", "NA East"), ("Atlanta", "NA East"),
             ("Chicago", "NA East"), ("San Francisco", "NA West"), ("Seattle", "NA West"),
             ("Austin", "NA West"), ("Denver", "NA West"), ("Los Angeles", "NA West"))),
    Country("CA", "Canada", ("CA",), 0.05, "en", "ca", "1", (3, 3, 4),
            (("Toronto", "NA East"), ("Montreal", "NA East"), ("Vancouver", "NA West"))),
    Country("GB", "United Kingdom", ("UK", "England", "GB"), 0.12, "en", "co.uk", "44", (2, 4, 4),
            (("London", "EMEA"), ("Manchester", "EMEA"), ("Edinburgh", "EMEA"))),
    Country("DE", "Germany", ("Deutschland", "DE"), 0.10, "de", "de", "49", (2, 7),
            (("Berlin", "EMEA"), ("München", "EMEA"), ("Hamburg", "EMEA"),
             ("Frankfurt am Main", "EMEA"))),
    Country("FR", "France", ("FR",), 0.07, "fr", "fr", "33", (1, 2, 2, 2, 2),
            (("Paris", "EMEA"), ("Lyon", "EMEA"), ("Toulouse", "EMEA"))),
    Country("ES", "Spain", ("España", "ES"), 0.05, "es", "es", "34", (3, 3, 3),
            (("Madrid", "EMEA"), ("Barcelona", "EMEA"), ("Valencia", "EMEA"))),
    Country("AU", "Australia", ("AU",), 0.06, "en", "com.au", "61", (1, 4, 4),
            (("Sydney", "APAC"), ("Melbourne", "APAC"), ("Brisbane", "APAC"))),
    Country("SG", "Singapore", ("SG",), 0.03, "en", "sg", "65", (4, 4), (("Singapore", "APAC"),)),
    Country("MX", "Mexico", ("México", "MX"), 0.06, "es", "com.mx", "52", (2, 4, 4),
            (("Mexico City", "LATAM"), ("Guadalajara", "LATAM"), ("Monterrey", "LATAM"))),
    Country("BR", "Brazil", ("Brasil", "BR"), 0.04, "pt", "com.br", "55", (2, 5, 4),
            (("São Paulo", "LATAM"), ("Rio de Janeiro", "LATAM"))),
)

INDUSTRIES = (
    Industry("Technology", 0.18, 0.55, "COMPUTER_SOFTWARE",
             ("Systems", "Software", "Labs", "Networks", "Digital", "Data", "Cloud")),
    Industry("Financial Services", 0.10, 0.4, "FINANCIAL_SERVICES",
             ("Capital", "Partners", "Financial", "Bank", "Advisors", "Insurance")),
    Industry("Healthcare", 0.10, 0.15, "HOSPITAL_HEALTH_CARE",
             ("Health", "Medical", "Clinics", "Pharma", "Care", "Diagnostics")),
    Industry("Professional Services", 0.10, 0.25, "MANAGEMENT_CONSULTING",
             ("Consulting", "Associates", "Advisory", "Solutions")),
    Industry("Manufacturing", 0.12, 0.0, "INDUSTRIAL_AUTOMATION",
             ("Industries", "Manufacturing", "Works", "Components", "Tools")),
    Industry("Retail", 0.10, -0.2, "RETAIL", ("Stores", "Brands", "Outfitters", "Market", "Goods")),
    Industry("Media", 0.05, -0.1, "MEDIA_PRODUCTION", ("Media", "Studios", "Publishing")),
    Industry("Energy", 0.05, 0.0, "OIL_ENERGY", ("Energy", "Power", "Solar", "Resources")),
    Industry("Logistics", 0.06, -0.05, "LOGISTICS_AND_SUPPLY_CHAIN",
             ("Logistics", "Freight", "Transport", "Shipping")),
    Industry("Education", 0.06, -0.55, "EDUCATION_MANAGEMENT",
             ("Academy", "Learning", "Institute", "College")),
    Industry("Government", 0.04, -0.45, "GOVERNMENT_ADMINISTRATION",
             ("Agency", "Authority", "Services")),
    Industry("Nonprofit", 0.04, -0.7, "NON_PROFIT_ORGANIZATION_MANAGEMENT",
             ("Foundation", "Trust", "Alliance")),
)

SOURCES = (
    LeadSource("Web", 0.20, 0.3, 0.3, "organic_search", "ORGANIC_SEARCH", "google"),
    LeadSource("Paid Search", 0.13, 0.0, 0.1, "paid_search", "PAID_SEARCH", "google"),
    LeadSource("Social Media", 0.08, -0.4, 0.0, "paid_social", "PAID_SOCIAL", "linkedin"),
    LeadSource("Email", 0.09, -0.2, 0.1, "email", "EMAIL_MARKETING", "newsletter"),
    LeadSource("Webinar", 0.09, 0.4, 0.4, "events", "OTHER_CAMPAIGNS", "webinar"),
    LeadSource("Trade Show", 0.08, 0.1, 0.2, "events", "OFFLINE", "event"),
    LeadSource("Partner Referral", 0.07, 0.8, 0.2, "partner", "REFERRALS", "partner"),
    LeadSource("Employee Referral", 0.04, 1.0, 0.3, "referral", "REFERRALS", "referral"),
    LeadSource("Cold Call", 0.11, -0.7, -0.4, None, "OFFLINE", ""),
    LeadSource("Purchased List", 0.11, -1.2, -0.6, None, "OFFLINE", ""),
)

TITLES = (
    ("Chief Executive Officer", 5, "exec"), ("Chief Revenue Officer", 5, "sales"),
    ("Chief Marketing Officer", 5, "marketing"), ("CTO", 5, "it"), ("CFO", 5, "finance"),
    ("VP of Sales", 4, "sales"), ("VP Marketing", 4, "marketing"),
    ("VP, Revenue Operations", 4, "revops"), ("VP of Engineering", 4, "engineering"),
    ("VP Finance", 4, "finance"), ("Director of Sales Operations", 3, "revops"),
    ("Director, Demand Generation", 3, "marketing"), ("Sales Director", 3, "sales"),
    ("IT Director", 3, "it"), ("Director of Data & Analytics", 3, "data"),
    ("HR Director", 3, "hr"), ("Sales Manager", 2, "sales"), ("Marketing Manager", 2, "marketing"),
    ("Revenue Operations Manager", 2, "revops"), ("IT Manager", 2, "it"),
    ("Finance Manager", 2, "finance"), ("Operations Manager", 2, "operations"),
    ("HR Manager", 2, "hr"), ("Analytics Manager", 2, "data"), ("Account Executive", 1, "sales"),
    ("Marketing Specialist", 1, "marketing"), ("Sales Operations Analyst", 1, "revops"),
    ("Data Analyst", 1, "data"), ("Software Engineer", 1, "engineering"),
    ("Accountant", 1, "finance"), ("Office Manager", 1, "operations"), ("Recruiter", 1, "hr"),
    ("Business Analyst", 1, "data"), ("Marketing Intern", 0, "marketing"),
    ("Sales Intern", 0, "sales"), ("Student", 0, "other"),
)

NICKNAMES = {
    "Robert": "Bob", "William": "Bill", "Richard": "Rick", "Michael": "Mike", "James": "Jim",
    "Joseph": "Joe", "Thomas": "Tom", "Christopher": "Chris", "Daniel": "Dan", "Matthew": "Matt",
    "Anthony": "Tony", "Steven": "Steve", "Andrew": "Andy", "Edward": "Ed", "Benjamin": "Ben",
    "Nicholas": "Nick", "Jonathan": "Jon", "Samuel": "Sam", "Alexander": "Alex", "David": "Dave",
    "Elizabeth": "Liz", "Jennifer": "Jen", "Katherine": "Kate", "Catherine": "Cathy",
    "Margaret": "Maggie", "Patricia": "Pat", "Rebecca": "Becky", "Victoria": "Vicky",
    "Jessica": "Jess", "Christina": "Tina", "Samantha": "Sam", "Alexandra": "Alex",
    "Deborah": "Debbie", "Kimberly": "Kim", "Susan": "Sue", "Stephanie": "Steph",
    "Francisco": "Paco", "José": "Pepe", "Alexandre": "Alex", "Johannes": "Hannes",
    "Wolfgang": "Wolf", "Nikolaus": "Niko",
}


@cache
def load() -> Vocab:
    """Build the vocabulary once; every chunk of every run shares it."""
    return Vocab(
        names={
            "en": _names(PersonUS, weighted=True),
            "de": _names(PersonDE, weighted=False),
            "fr": _names(PersonFR, weighted=False),
            "es": _names(PersonES, weighted=False),
            "pt": _names(PersonBR, weighted=False),
        },
        countries=COUNTRIES,
        industries=INDUSTRIES,
        sources=SOURCES,
        titles=TITLES,
        seniority_fit=(-1.4, -0.3, 0.2, 0.6, 0.7, 0.35),
        function_fit={"sales": 0.35, "marketing": 0.3, "revops": 0.6, "data": 0.35, "it": 0.05,
                      "engineering": -0.1, "finance": -0.1, "operations": -0.1, "hr": -0.6,
                      "exec": 0.2, "other": -0.6},
        nicknames=NICKNAMES,
        company_suffixes={"en": ("Inc", "LLC", "Group", "Ltd", "Corp"),
                          "de": ("GmbH", "AG", "Gruppe"), "fr": ("SA", "SAS", "Groupe"),
                          "es": ("SA", "SL", "Grupo"), "pt": ("Ltda", "SA", "Grupo")},
        territories=("NA East", "NA West", "EMEA", "APAC", "LATAM"),
    )
