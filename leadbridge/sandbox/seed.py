"""Deterministic, realistic B2B seed data (Japanese and English) for the sandbox emulators."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from faker import Faker

from leadbridge.sandbox.salesforce import queues
from leadbridge.sandbox.salesforce.objects import INDUSTRIES, LEAD_SOURCES, LEAD_STATUSES
from leadbridge.sandbox.salesforce.org import Org

Locale = Literal["ja_JP", "en_US"]
Team = Literal["inside_sales", "field_sales", "marketing"]

# (band label, lowest, highest) employee counts.
EMPLOYEE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("1-9", 1, 9),
    ("10-49", 10, 49),
    ("50-99", 50, 99),
    ("100-299", 100, 299),
    ("300-999", 300, 999),
    ("1000-4999", 1000, 4999),
    ("5000+", 5000, 50000),
)
_BAND_WEIGHTS = (8, 22, 20, 20, 14, 10, 6)
_JA_DEPARTMENTS = (
    "営業部",
    "情報システム部",
    "マーケティング部",
    "経営企画部",
    "総務部",
    "開発部",
    "人事部",
    "DX推進室",
)
_JA_RANKS = ("部長", "課長", "係長", "主任", "担当", "マネージャー", "室長")
_JA_EXECUTIVES = ("代表取締役社長", "取締役", "執行役員", "本部長")
_EN_TITLES = (
    "VP of Sales",
    "Director of Marketing",
    "IT Manager",
    "Marketing Specialist",
    "Head of Operations",
    "CTO",
    "CIO",
    "Sales Operations Manager",
    "Procurement Manager",
    "Software Engineer",
    "Chief Marketing Officer",
    "Business Analyst",
    "Account Executive",
    "Office Manager",
)
_EN_COUNTRIES = (
    "United States",
    "United States",
    "United States",
    "United Kingdom",
    "Canada",
    "Australia",
)
_STATUS_WEIGHTS = (55, 30, 0, 15)  # Converted leads come from the convert action, not seeding.
_SLUG_RE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class SeedUser:
    """A sales or marketing user to create in the org."""

    key: str
    first_name: str
    last_name: str
    email: str
    username: str
    alias: str
    title: str
    team: Team
    locale: Locale


@dataclass(frozen=True)
class SeedQueue:
    """A lead queue (a Group of Type 'Queue')."""

    key: str
    name: str
    developer_name: str
    team: Team


@dataclass(frozen=True)
class SeedLead:
    """One B2B lead with canonical values; `owner_key` names a SeedUser or SeedQueue."""

    first_name: str
    last_name: str
    company: str
    email: str
    title: str
    industry: str
    employee_band: str
    number_of_employees: int
    status: str
    lead_source: str
    owner_key: str
    phone: str
    country: str
    locale: Locale
    created_date: dt.datetime


@dataclass(frozen=True)
class SeedData:
    """Users, queues and leads generated from one seed."""

    users: tuple[SeedUser, ...]
    queues: tuple[SeedQueue, ...]
    leads: tuple[SeedLead, ...]


@dataclass(frozen=True)
class SeededOrg:
    """Ids the org gave to the seed data."""

    user_ids: dict[str, str]
    queue_ids: dict[str, str]
    lead_ids: tuple[str, ...]


@dataclass(frozen=True)
class _Company:
    name: str
    domain: str
    industry: str
    band: tuple[str, int, int]
    locale: Locale
    country: str


def _slug(text: str) -> str:
    return _SLUG_RE.sub("", text.lower())


def _companies(
    fakers: dict[Locale, Faker], rng: random.Random, count: int, locale: Locale
) -> list[_Company]:
    fake, en = fakers[locale], fakers["en_US"]
    seen: set[str] = set()
    result = []
    for _ in range(count):
        name = fake.company()
        base = _slug(name) if locale == "en_US" else _slug(en.domain_word())
        tld = ".com" if locale == "en_US" else ".co.jp"
        domain, n = base + tld, 1
        while domain in seen:
            n += 1
            domain = f"{base}{n}{tld}"
        seen.add(domain)
        band = rng.choices(EMPLOYEE_BANDS, weights=_BAND_WEIGHTS)[0]
        country = "Japan" if locale == "ja_JP" else rng.choice(_EN_COUNTRIES)
        result.append(_Company(name, domain, rng.choice(INDUSTRIES), band, locale, country))
    return result


def _people(fake: Faker, locale: Locale, count: int) -> list[tuple[str, str, str, str]]:
    """(first, last, first romanised, last romanised) name pairs."""
    people = []
    for _ in range(count):
        if locale == "ja_JP":
            first, _kana, first_r = fake.first_name_pair()
            last, _kana2, last_r = fake.last_name_pair()
        else:
            first, last = fake.first_name(), fake.last_name()
            first_r, last_r = first, last
        people.append((first, last, _slug(first_r), _slug(last_r)))
    return people


def _title(rng: random.Random, locale: Locale) -> str:
    if locale == "en_US":
        return rng.choice(_EN_TITLES)
    if rng.random() < 0.1:
        return rng.choice(_JA_EXECUTIVES)
    return rng.choice(_JA_DEPARTMENTS) + rng.choice(_JA_RANKS)


def _users(fakers: dict[Locale, Faker]) -> tuple[SeedUser, ...]:
    plan: list[tuple[Team, Locale, str]] = [
        ("inside_sales", "ja_JP", "インサイドセールス"),
        ("inside_sales", "ja_JP", "インサイドセールス"),
        ("inside_sales", "en_US", "Sales Development Representative"),
        ("field_sales", "ja_JP", "フィールドセールス"),
        ("field_sales", "ja_JP", "営業部 課長"),
        ("field_sales", "en_US", "Account Executive"),
        ("marketing", "ja_JP", "マーケティング部 担当"),
        ("marketing", "en_US", "Marketing Manager"),
    ]
    users = []
    for n, (team, locale, title) in enumerate(plan, start=1):
        first, last, first_r, last_r = _people(fakers[locale], locale, 1)[0]
        email = f"{first_r}.{last_r}{n}@leadbridge-demo.example"
        users.append(
            SeedUser(
                key=f"{team}_{n}",
                first_name=first,
                last_name=last,
                email=email,
                username=email,
                alias=(first_r[:1] + last_r)[:8] or f"user{n}",
                title=title,
                team=team,
                locale=locale,
            )
        )
    return tuple(users)


def generate(
    *,
    seed: int = 42,
    leads: int = 1000,
    ja_share: float = 0.5,
    now: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    days: int = 365,
) -> SeedData:
    """Generate users, queues and leads; the same arguments always give the same data."""
    # Reproducible demo data, not secrets: a seeded PRNG is the point.
    rng = random.Random(seed)  # noqa: S311
    fakers: dict[Locale, Faker] = {"ja_JP": Faker("ja_JP"), "en_US": Faker("en_US")}
    for offset, fake in enumerate(fakers.values()):
        fake.seed_instance(seed + offset)
    users = _users(fakers)
    queues = (
        SeedQueue("inside_sales_queue", "Inside Sales Queue", "Inside_Sales_Queue", "inside_sales"),
        SeedQueue("field_sales_queue", "Field Sales Queue", "Field_Sales_Queue", "field_sales"),
    )
    # Faker is slow per call, so draw from pools and combine them with the seeded RNG.
    pool = max(20, min(2000, leads // 5 + 1))
    companies = {loc: _companies(fakers, rng, pool, loc) for loc in ("ja_JP", "en_US")}
    people = {loc: _people(fakers[loc], loc, max(20, min(400, pool))) for loc in fakers}
    phones = {loc: [fakers[loc].phone_number() for _ in range(100)] for loc in fakers}
    inside = [u.key for u in users if u.team == "inside_sales"]
    field = [u.key for u in users if u.team == "field_sales"]
    taken: set[str] = set()
    result = []
    span = days * 86400
    for _ in range(leads):
        locale: Locale = "ja_JP" if rng.random() < ja_share else "en_US"
        company = rng.choice(companies[locale])
        first, last, first_r, last_r = rng.choice(people[locale])
        local = f"{first_r}.{last_r}"
        email, n = f"{local}@{company.domain}", 1
        while email in taken:
            n += 1
            email = f"{local}{n}@{company.domain}"
        taken.add(email)
        status = rng.choices(LEAD_STATUSES, weights=_STATUS_WEIGHTS)[0]
        band, low, high = company.band
        employees = rng.randint(low, high)
        if status == "Open - Not Contacted" and rng.random() < 0.6:
            owner = "inside_sales_queue" if employees < 300 else "field_sales_queue"
        else:
            owner = rng.choice(inside if employees < 300 else field)
        created = now - dt.timedelta(seconds=rng.randrange(span), milliseconds=rng.randrange(1000))
        result.append(
            SeedLead(
                first_name=first,
                last_name=last,
                company=company.name,
                email=email,
                title=_title(rng, locale),
                industry=company.industry,
                employee_band=band,
                number_of_employees=employees,
                status=status,
                lead_source=rng.choice(LEAD_SOURCES),
                owner_key=owner,
                phone=rng.choice(phones[locale]),
                country=company.country,
                locale=locale,
                created_date=created,
            )
        )
    return SeedData(users=users, queues=queues, leads=tuple(result))


def load_into_org(
    org: Org, data: SeedData, *, users: Sequence[SeedUser] | None = None
) -> SeededOrg:
    """Create the users and queues through DML and bulk-load the leads."""
    admin = org.integration_user_id
    user_ids = {}
    for user in users if users is not None else data.users:
        user_ids[user.key] = org.create(
            "User",
            {
                "Username": user.username,
                "FirstName": user.first_name,
                "LastName": user.last_name,
                "Email": user.email,
                "Alias": user.alias,
                "Title": user.title,
                "LanguageLocaleKey": "ja" if user.locale == "ja_JP" else "en_US",
                "TimeZoneSidKey": "Asia/Tokyo" if user.locale == "ja_JP" else "America/Los_Angeles",
            },
            user_id=admin,
        )
    queue_ids = {
        q.key: org.create(
            "Group",
            {"Name": q.name, "DeveloperName": q.developer_name, "Type": "Queue"},
            user_id=admin,
        )
        for q in data.queues
    }
    # The seeded queues own leads, so Lead is one of their supported objects (QueueSobject).
    queues.ensure_supported(org, queue_ids.values(), "Lead", user_id=admin)
    owners = {**user_ids, **queue_ids}
    rows = (
        {
            "FirstName": lead.first_name,
            "LastName": lead.last_name,
            "Company": lead.company,
            "Email": lead.email,
            "Title": lead.title,
            "Industry": lead.industry,
            "NumberOfEmployees": lead.number_of_employees,
            "Status": lead.status,
            "LeadSource": lead.lead_source,
            "OwnerId": owners.get(lead.owner_key, admin),
            "Phone": lead.phone,
            "Country": lead.country,
            "CreatedDate": lead.created_date,
        }
        for lead in data.leads
    )
    lead_ids = org.bulk_load("Lead", rows, user_id=admin)
    return SeededOrg(user_ids=user_ids, queue_ids=queue_ids, lead_ids=tuple(lead_ids))
