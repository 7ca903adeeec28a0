"""Demo data: the five seed schools with pupils, people, this year's calendar and marks.

Everything comes from one seeded ``random.Random`` per school, so the same ``seed`` gives the
same schools, names and marks every time. ``demo_seed`` builds all six demo tenants (the
two LAP academies share a trust); ``school_populate`` fills one existing tenant and is what
the tests call. The ``seed_demo`` command only parses options and prints.

How the marks are made (statistically coherent: a pupil's codes drive their figures):
each pupil gets an absence profile (excellent, good, fair, persistent, severe) with a
target share of absent sessions; absence events (illness runs, appointments, unexplained
days, a holiday, religious observance, leave) are placed until the target is met, and
everything left is present or late. Unexplained absences older than five school days
became O (or I when a parent phoned) and carry the amendment that changed the N.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import time as clock
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django_tenants.utils import schema_context
from stdnum.gb.upn import calc_check_digit

from registers.calendar import calendar_replace
from registers.models import (
    WEEKDAY_KEYS,
    CalendarEntry,
    Contact,
    DeletionGround,
    Mark,
    OffSiteProvision,
    PartTimeReview,
    PartTimeTimetable,
    Pupil,
    RegistrationGroup,
    SessionPattern,
)
from registers.school_year import school_year_start
from registers.services import late_code, marks_history_load
from tenants.models import Membership, School, Trust, TrustMembership, User
from tenants.roles import Role
from tenants.services import person_grant, public_tenant_ensure, school_create

DEMO_PASSWORD = "demo-pass-2026"
TRUST_SLUG, TRUST_NAME = "learning-academy-partnership", "Learning Academy Partnership"
LONDON = ZoneInfo("Europe/London")
AM, PM = "AM", "PM"
ONE_DAY = timedelta(days=1)

# --- names --------------------------------------------------------------------------------
# Children's forenames (girls, boys), parents' forenames (women, men) and surnames by
# family heritage. Adults are a generation older, so their names differ from the children's.

NAMES = {
    "british": {
        "girls": "Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie Sophia Isabella "
                 "Grace Daisy Sienna Poppy Elsie Emily Ella Evelyn Phoebe Evie Charlotte Harper "
                 "Millie Matilda Ruby Esme Alice Eliza Bonnie Maisie Violet Imogen Harriet Holly "
                 "Lucy Scarlett Niamh Orla Elizabeth Eleanor Abigail Katherine Mollie Darcie".split(),
        "boys": "Noah Oliver George Arthur Leo Harry Oscar Archie Henry Theodore Freddie Jack "
                "Charlie Alfie Jacob Thomas Finley Arlo William Roman Tommy Isaac Teddy Alexander "
                "Luca Edward James Joshua Albert Max Elijah Ethan Reuben Harrison Samuel Joseph "
                "Riley Mason Jenson Ronnie Louie Frankie Bobby Dylan Callum Benjamin Frederick".split(),
        "women": "Sarah Laura Emma Rebecca Gemma Hayley Kirsty Lauren Amy Charlotte Jade Stacey "
                 "Natalie Claire Nicola Danielle Leanne Kelly Zoe Victoria Jennifer Hannah Rachel "
                 "Samantha Katie Siobhan Louise Kerry Joanne Lisa".split(),
        "men": "Daniel James Matthew Christopher Michael David Andrew Mark Paul Lee Craig Ryan "
               "Adam Jamie Liam Scott Stuart Ben Tom Richard Carl Dean Gareth Steven Wayne "
               "Darren Neil Sean Ashley Kieran".split(),
        "surnames": "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright "
                    "Thompson Evans Walker White Roberts Green Hall Wood Jackson Clarke Hughes "
                    "Edwards Turner Hill Cooper Ward Morris Moore Clark Harrison Baker Lee Allen "
                    "Bennett Shaw Holmes Mitchell Parker Richardson Barker Kelly Murphy O'Brien "
                    "Lawson Fletcher Pearson Marshall Gibson Lloyd Price Hudson Chapman".split(),
    },
    "south_asian": {
        "girls": "Aisha Maryam Zainab Fatima Hafsa Inaya Aleena Anaya Zara Amira Khadija Noor "
                 "Ayesha Safa Priya Anika Simran Riya Sana Hania Eshaal Mehak Jasleen Ishani".split(),
        "boys": "Ibrahim Yusuf Ayaan Zayn Hamza Ali Omar Musa Rayyan Zakariya Arham Haris Arjun "
                "Aarav Rohan Dev Harjot Abdullah Hassan Bilal Ismail Eesa Vihaan Rehan".split(),
        "women": "Nazia Shazia Rubina Sadia Saima Farah Ayesha Nabila Samina Rukhsana Uzma "
                 "Sabrina Harpreet Priya Sunita Shabana Tahira".split(),
        "men": "Imran Asif Tariq Kamran Shahid Naveed Zahid Adnan Faisal Arif Rizwan Amir "
               "Sanjay Rajesh Gurpreet Mohammed Sajid".split(),
        "surnames": "Khan Hussain Ahmed Ali Iqbal Mahmood Akhtar Rahman Patel Shah Singh Sharma "
                    "Chaudhry Malik Mirza Rashid Miah Uddin Islam Butt Anwar Sandhu".split(),
    },
    "eastern_european": {
        "girls": "Zuzanna Julia Maja Hanna Lena Zofia Alicja Oliwia Natalia Ioana Maria Andreea "
                 "Elena Daria Emilia Gabriela Wiktoria".split(),
        "boys": "Jakub Antoni Jan Szymon Filip Kacper Mikołaj Wojciech Andrei Stefan Matei "
                "Darius Tomasz Oskar Aleksander David".split(),
        "women": "Agnieszka Katarzyna Magdalena Joanna Anna Monika Ewa Marta Ioana Elena "
                 "Mihaela Andreea Justyna".split(),
        "men": "Piotr Tomasz Paweł Krzysztof Marcin Łukasz Michał Adrian Mihai Florin "
               "Gabriel Bogdan Rafał".split(),
        "surnames": "Nowak Kowalski Wiśniewski Wójcik Kamiński Lewandowski Zieliński Szymański "
                    "Popescu Ionescu Popa Stan Dumitru Horvath Novak Mazur".split(),
    },
    "african": {
        "girls": "Amina Hodan Ifrah Deeqa Chiamaka Adaeze Precious Blessing Favour Mariam "
                 "Salma Nour Hiba Oluwadamilola Abena Ruth".split(),
        "boys": "Abdirahman Mohamed Abdi Chidi Oluwaseun Oluwatobiloba Chukwuemeka Emmanuel "
                "Daniel Samuel Yahya Adam Karim Kwame Joel".split(),
        "women": "Fadumo Hodan Amina Ngozi Funmilayo Abena Grace Blessing Fatima Rania "
                 "Chioma Esther".split(),
        "men": "Abdullahi Mohamed Ahmed Chukwuma Olumide Kwame Kofi Emmanuel Samuel Khalid "
               "Omar Tunde".split(),
        "surnames": "Abdi Mohamed Hassan Warsame Okafor Adeyemi Okonkwo Mensah Boateng Osei "
                    "Eze Haddad Mansour Ibrahim Farah Adebayo".split(),
    },
    "east_asian": {
        "girls": "Mei Jasmine Chloe Grace Xinyi Emily Linh Yuna".split(),
        "boys": "Ethan Jayden Ryan Hao Minh Lucas Kai Leon".split(),
        "women": "Li Na Mei Hui Lan Ying Jenny Thi Mai".split(),
        "men": "Wei Jun Hao Minh Kevin Tony Long".split(),
        "surnames": "Chen Wang Li Zhang Nguyen Tran Wong Liu Lam".split(),
    },
}
# Legal forename -> names the child is known by (preferred forename).
KNOWN_AS = {
    "Alexander": ["Alex", "Xander"], "William": ["Will", "Billy"], "Thomas": ["Tom", "Tommy"],
    "Theodore": ["Theo", "Teddy"], "Frederick": ["Freddie", "Fred"], "Edward": ["Ed", "Teddy"],
    "Elizabeth": ["Libby", "Beth", "Lizzie"], "Isabella": ["Bella", "Izzy"],
    "Matilda": ["Tilly"], "Eleanor": ["Ellie", "Nell"], "Katherine": ["Kate", "Katie"],
    "Samuel": ["Sam"], "Joshua": ["Josh"], "Benjamin": ["Ben", "Benji"], "Jacob": ["Jake"],
    "Abigail": ["Abbie"], "Harrison": ["Harry"], "Mollie": ["Molly"],
    "Oluwaseun": ["Seun"], "Oluwatobiloba": ["Tobi"], "Chukwuemeka": ["Emeka"],
    "Oluwadamilola": ["Dami"], "Jakub": ["Kuba"], "Aleksander": ["Olek"],
    "Zuzanna": ["Zuzia"], "Wiktoria": ["Vicky"],
}
MEDICAL = [
    "Asthma: inhaler kept in class", "Severe nut allergy: two adrenaline pens in the office",
    "Type 1 diabetes: individual healthcare plan", "Epilepsy: care plan, rescue medication",
    "Eczema: emollient cream at lunch", "Coeliac disease: gluten-free meals",
    "Hearing impairment (left ear): sit near the front", "Sickle cell disease: healthcare plan",
    "Dairy allergy", "Glasses for reading", "Cystic fibrosis: physiotherapy twice daily",
]

# --- the demo schools ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    title: str
    first: str
    last: str

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class DemoSchool:
    """Everything that differs between demo schools; ``key`` prefixes their usernames."""

    key: str
    schema: str
    name: str
    domain: str
    preset: str
    estab: int
    urn: str
    town: str
    address: str
    phone: str
    landline: str          # first part of local drama-range phone numbers (Ofcom)
    postcodes: tuple
    streets: tuple
    heritage: dict
    year_groups: tuple
    year_weights: tuple
    themes: tuple          # class names after the year group: "3 Oak"
    inset: tuple           # term boundaries (+ school-day offset) that are INSET days
    staff: dict            # role value -> Person; "champion" is a second head-role login
    la: tuple              # (username key, Person, job title): one officer per LA
    extra_closures: tuple = ()
    trust: bool = False
    surnames: tuple = ()   # local surnames mixed into the British pool


PRIMARY = (0, 1, 2, 3, 4, 5, 6)
DEVON_LA = ("devon", Person("Mr", "Graham", "Stoneman"), "Devon attendance and inclusion officer")
DEVON_SURNAMES = ("Pascoe", "Penrose", "Tremayne", "Hocking", "Kitto", "Luscombe", "Northcott",
                  "Heard", "Medland", "Squire", "Vosper", "Bolt", "Endacott", "Westaway")
DEVON_STREETS = ("Fore Street", "Station Road", "Church Lane", "Barnstaple Street", "Mill Lane",
                 "Moor View", "Orchard Close", "Castle Street", "Chapel Street", "Meadow Way",
                 "New Road", "Bridge Street", "Lower Park Road", "Quay Lane", "St John's Close")

SCHOOLS = [
    DemoSchool(
        key="beecroft", schema="beecroft", name="Beecroft Primary School",
        domain="beecroft.localhost", preset="beecroft", estab=2154, urn="107932", town="Leeds",
        address="Eden Way\nKirkstall\nLeeds\nLS4 2TF", phone="0113 496 0100", landline="0113 496 0",
        postcodes=("LS4", "LS5", "LS6", "LS13"),
        streets=("Kirkstall Lane", "Abbey Road", "Broad Lane", "Commercial Road", "Victoria Road",
                 "Eden Crescent", "Morris Lane", "Argie Avenue", "Hawksworth Road", "Vesper Road",
                 "Queenswood Drive", "Beecroft Street", "Cardigan Road", "Stanningley Road"),
        heritage={"british": .64, "south_asian": .16, "eastern_european": .08, "african": .08,
                  "east_asian": .04},
        year_groups=PRIMARY, year_weights=(1,) * 7,
        themes=("Oak", "Ash", "Birch", "Elm", "Hazel", "Rowan", "Willow", "Maple", "Cedar",
                "Holly", "Larch", "Alder", "Aspen", "Yew"),
        inset=(("a1_start", 0), ("a1_start", 1), ("s1_start", 0), ("su1_start", 0),
               ("su2_end", 0)),
        staff={"office": Person("Mrs", "Karen", "Holroyd"), "head": Person("Mrs", "June", "Turner"),
               "champion": Person("Mr", "Steven", "Campbell"),
               "attendance_officer": Person("Mrs", "Lisa", "Craven"),
               "governor": Person("", "Pat", "Gradys")},
        la=("leeds", Person("Mr", "Martin", "Oddy"), "Leeds attendance improvement officer"),
        surnames=("Haigh", "Sutcliffe", "Ackroyd", "Hirst", "Firth", "Wainwright", "Greenwood"),
    ),
    DemoSchool(
        key="cheetwood", schema="cheetwood", name="Cheetwood Community Primary School",
        domain="cheetwood.localhost", preset="cheetwood", estab=2231, urn="105431",
        town="Manchester", address="Waterloo Road\nCheetham Hill\nManchester\nM8 8EJ",
        phone="0161 496 0210", landline="0161 496 0", postcodes=("M8", "M7", "M4"),
        streets=("Cheetham Hill Road", "Waterloo Road", "Bury Old Road", "Derby Street",
                 "Knowsley Road", "Halliwell Lane", "Elizabeth Street", "Smedley Road",
                 "Heywood Street", "Marlborough Road", "Crescent Road", "Broughton Lane"),
        heritage={"british": .32, "south_asian": .30, "eastern_european": .14, "african": .19,
                  "east_asian": .05},
        year_groups=PRIMARY, year_weights=(1,) * 7,
        themes=("Robins", "Wrens", "Owls", "Kestrels", "Swifts", "Kingfishers", "Herons",
                "Falcons", "Puffins", "Swallows", "Goldfinches", "Ravens", "Starlings", "Larks"),
        inset=(("a1_start", 0), ("a1_start", 1), ("a2_start", 0), ("s2_start", 0),
               ("su2_end", 0)),
        staff={"office": Person("Ms", "Dionne", "Clarke"), "head": Person("Mr", "Imran", "Qureshi"),
               "attendance_officer": Person("Mrs", "Angela", "Gregory"),
               "governor": Person("Mr", "Peter", "Okafor")},
        la=("manchester", Person("Ms", "Janet", "Brierley"), "Manchester attendance officer"),
        surnames=("Ogden", "Schofield", "Whittaker", "Entwistle"),
    ),
    DemoSchool(
        key="stlukes", schema="stlukes", name="St Luke's CofE Primary School",
        domain="stlukes.localhost", preset="stlukes", estab=3318, urn="113402",
        town="Newton Abbot", address="Church Road\nNewton Abbot\nDevon\nTQ12 1AB",
        phone="01632 960310", landline="01632 960", postcodes=("TQ12", "TQ13"),
        streets=DEVON_STREETS,
        heritage={"british": .89, "eastern_european": .06, "south_asian": .02, "african": .01,
                  "east_asian": .02},
        year_groups=PRIMARY, year_weights=(1,) * 7,
        themes=("Aidan", "Hilda", "Cuthbert", "Bede", "Columba", "Piran", "Brigid", "Francis",
                "Clare", "Boniface", "Petroc", "Winifred", "Chad", "David"),
        inset=(("a1_start", 0), ("a1_end", 0), ("s1_start", 0), ("su1_start", 0),
               ("su2_end", 0)),
        extra_closures=(("polling_day", "Polling station: local elections"),),
        staff={"office": Person("Mrs", "Tracey", "Luscombe"), "head": Person("Mrs", "Helen", "Pascoe"),
               "attendance_officer": Person("Mrs", "Claire", "Webber"),
               "governor": Person("Revd", "Michael", "Hext")},
        la=DEVON_LA, surnames=DEVON_SURNAMES,
    ),
    DemoSchool(
        key="bankslane", schema="bankslane", name="Banks Lane Infant and Nursery School",
        domain="bankslane.localhost", preset="bankslane", estab=2063, urn="106072",
        town="Stockport", address="Banks Lane\nStockport\nSK1 4PJ",
        phone="0161 496 0480", landline="0161 496 0", postcodes=("SK1", "SK2", "SK4", "SK5"),
        streets=("Banks Lane", "Lancashire Hill", "Hall Street", "Turncroft Lane", "Higher Hillgate",
                 "Hempshaw Lane", "Garners Lane", "Kennerley Road", "Brinnington Road",
                 "Offerton Lane", "Wellington Road North", "Hillcrest Road"),
        heritage={"british": .78, "south_asian": .09, "eastern_european": .07, "african": .03,
                  "east_asian": .03},
        year_groups=(-2, -1, 0, 1, 2), year_weights=(10, 18, 24, 24, 24),
        themes=("Caterpillars", "Ladybirds", "Hedgehogs", "Squirrels", "Badgers", "Foxes",
                "Otters", "Rabbits", "Bumblebees", "Dragonflies"),
        inset=(("a1_start", 0), ("a1_start", 1), ("a2_start", 0), ("s1_start", 0),
               ("su2_start", 0)),
        staff={"office": Person("Mrs", "Lynn", "Marsden"), "head": Person("Mrs", "Rachel", "Bowden"),
               "attendance_officer": Person("Mrs", "Joanne", "Whitehead"),
               "governor": Person("Mr", "Keith", "Worrall")},
        la=("stockport", Person("Mrs", "Sue", "Banks"), "Stockport education welfare officer"),
        surnames=("Worthington", "Bardsley", "Hulme", "Cheetham"),
    ),
    DemoSchool(
        key="riverside", schema="lap_riverside", name="Riverside Academy (LAP)",
        domain="riverside.localhost", preset="lap", estab=2605, urn="148811", town="Bideford",
        address="Torridge Road\nBideford\nDevon\nEX39 3AB", phone="01632 960520",
        landline="01632 960", postcodes=("EX39",), streets=DEVON_STREETS,
        heritage={"british": .90, "eastern_european": .05, "south_asian": .02, "african": .01,
                  "east_asian": .02},
        year_groups=PRIMARY, year_weights=(1,) * 7,
        themes=("Torridge", "Taw", "Exe", "Dart", "Teign", "Tamar", "Otter", "Axe", "Culm",
                "Yeo", "Lyn", "Erme", "Plym", "Avon"),
        inset=(("a1_start", 0), ("a1_start", 1), ("s1_start", 0), ("s2_start", 0),
               ("su2_end", 0)),
        staff={"office": Person("Mrs", "Nicola", "Ford"), "head": Person("Mr", "Daniel", "Ellis"),
               "attendance_officer": Person("Mrs", "Karen", "Pugh"),
               "governor": Person("Mrs", "Anne", "Hocking")},
        la=DEVON_LA, trust=True, surnames=DEVON_SURNAMES,
    ),
    DemoSchool(
        key="moorland", schema="lap_moorland", name="Moorland Academy (LAP)",
        domain="moorland.localhost", preset="lap", estab=2618, urn="148830", town="Okehampton",
        address="Moor Lane\nOkehampton\nDevon\nEX20 1AB", phone="01632 960640",
        landline="01632 960", postcodes=("EX20",), streets=DEVON_STREETS,
        heritage={"british": .92, "eastern_european": .04, "south_asian": .02, "east_asian": .02},
        year_groups=PRIMARY, year_weights=(1,) * 7,
        themes=("Haytor", "Yes Tor", "Hound Tor", "Brent Tor", "Bellever", "Sharp Tor", "Bench Tor",
                "Vixen Tor", "Great Mis", "Kes Tor", "Bowerman", "Pew Tor", "Leather Tor", "Cox Tor"),
        inset=(("a1_start", 0), ("a1_start", 1), ("s1_start", 0), ("s2_start", 0),
               ("su1_start", 0)),
        staff={"office": Person("Mrs", "Julie", "Heard"), "head": Person("Mrs", "Sarah", "Medland"),
               "attendance_officer": Person("Mr", "Tom", "Bolt"),
               "governor": Person("Mr", "Robert", "Northcott")},
        la=DEVON_LA, trust=True, surnames=DEVON_SURNAMES,
    ),
]
SCHOOLS_BY_KEY = {s.key: s for s in SCHOOLS}
TRUST_DIRECTOR = ("lap.director", Person("Dr", "Eleanor", "Rowe"))
# One parent with a child in each LAP academy: the same login, a contact in both schemas.
TWO_SCHOOL_PARENT = ("lap.parent", Person("Mrs", "Gemma", "Kitto"))
TWO_SCHOOL_CHILDREN = {"riverside": ("Oscar", "M", 4), "moorland": ("Poppy", "F", 0)}
ROLE_USERNAME = {"office": "office", "head": "head", "champion": "champion",
                 "attendance_officer": "attendance", "governor": "governor"}

# --- calendar -----------------------------------------------------------------------------


def _easter(year: int) -> date:
    """Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _weekday_on_or_after(d: date, weekday: int) -> date:
    return d + timedelta(days=(weekday - d.weekday()) % 7)


def _weekday_on_or_before(d: date, weekday: int) -> date:
    return d - timedelta(days=(d.weekday() - weekday) % 7)


def _skip_weekend(d: date, step: int = 1) -> date:
    while d.weekday() >= 5:
        d += timedelta(days=step)
    return d


def bank_holidays(year: int) -> dict[date, str]:
    """England and Wales bank holidays in a calendar year (weekend ones move to Monday)."""
    easter = _easter(year)
    out = {_skip_weekend(date(year, 1, 1)): "New Year's Day",
           easter - 2 * ONE_DAY: "Good Friday", easter + ONE_DAY: "Easter Monday",
           _weekday_on_or_after(date(year, 5, 1), 0): "Early May bank holiday",
           _weekday_on_or_before(date(year, 5, 31), 0): "Spring bank holiday",
           _weekday_on_or_before(date(year, 8, 31), 0): "Summer bank holiday"}
    christmas = _skip_weekend(date(year, 12, 25))
    boxing = _skip_weekend(max(date(year, 12, 26), christmas + ONE_DAY))
    out.update({christmas: "Christmas Day", boxing: "Boxing Day"})
    return out


def term_dates(start_year: int) -> dict[str, date]:
    """Typical English term dates for the school year starting in September ``start_year``.

    Six half terms: October half term is the last week of October, February half term the
    third week of February, May half term the week of the spring bank holiday; Easter
    holidays are two weeks around Easter; the year ends about 21 July.
    """
    y1 = start_year + 1
    oct_ht = _weekday_on_or_before(date(start_year, 10, 31), 0)
    feb_ht = _weekday_on_or_after(date(y1, 2, 15), 0)
    may_ht = _weekday_on_or_before(date(y1, 5, 31), 0)
    easter = _easter(y1)
    if easter <= date(y1, 4, 5):   # early Easter: break from Good Friday for two weeks
        s2_end, su1_start = easter - 3 * ONE_DAY, easter + 15 * ONE_DAY
    else:                          # late Easter: the week before and the week after
        s2_end, su1_start = easter - 9 * ONE_DAY, easter + 8 * ONE_DAY
    s1_start = _skip_weekend(date(y1, 1, 4))
    while s1_start in bank_holidays(y1):
        s1_start = _skip_weekend(s1_start + ONE_DAY)
    return {
        "a1_start": _skip_weekend(date(start_year, 9, 1)), "a1_end": oct_ht - 3 * ONE_DAY,
        "a2_start": oct_ht + 7 * ONE_DAY,
        "a2_end": _weekday_on_or_before(date(start_year, 12, 20), 4),
        "s1_start": s1_start, "s1_end": feb_ht - 3 * ONE_DAY, "s2_start": feb_ht + 7 * ONE_DAY,
        "s2_end": s2_end, "su1_start": su1_start, "su1_end": may_ht - 3 * ONE_DAY,
        "su2_start": may_ht + 7 * ONE_DAY, "su2_end": _skip_weekend(date(y1, 7, 21), -1),
        "polling_day": _weekday_on_or_after(date(y1, 5, 1), 3),
    }


def _school_day_offset(d: date, offset: int) -> date:
    step = 1 if offset >= 0 else -1
    for _ in range(abs(offset)):
        d = _skip_weekend(d + timedelta(days=step), step)
    return d


def calendar_entries(spec: DemoSchool, start_year: int) -> list[CalendarEntry]:
    """Terms, INSET days (varying per school), bank holidays and closures inside terms."""
    t = term_dates(start_year)
    terms = [("Autumn 1", "a1"), ("Autumn 2", "a2"), ("Spring 1", "s1"), ("Spring 2", "s2"),
             ("Summer 1", "su1"), ("Summer 2", "su2")]
    entries = [CalendarEntry(kind=CalendarEntry.Kind.TERM, start_date=t[f"{k}_start"],
                             end_date=t[f"{k}_end"], label=label) for label, k in terms]
    closures = {_school_day_offset(t[name], offset): "INSET day" for name, offset in spec.inset}
    for name, label in spec.extra_closures:
        closures.setdefault(t[name], label)
    for year in (start_year, start_year + 1):
        for day, label in bank_holidays(year).items():
            closures.setdefault(day, f"Bank holiday: {label}")
    in_term = [(d, label) for d, label in sorted(closures.items())
               if any(e.start_date <= d <= e.end_date for e in entries)]
    entries += [CalendarEntry(kind=CalendarEntry.Kind.CLOSURE, start_date=d, end_date=d, label=label)
                for d, label in in_term]
    return entries


def open_days_of(entries: list[CalendarEntry]) -> list[date]:
    """The open school days the entries define (same rule as registers.calendar)."""
    closed = {e.start_date + timedelta(days=n) for e in entries if e.kind == CalendarEntry.Kind.CLOSURE
              for n in range((e.end_date - e.start_date).days + 1)}
    days = []
    for e in entries:
        if e.kind != CalendarEntry.Kind.TERM:
            continue
        d = e.start_date
        while d <= e.end_date:
            if d.weekday() < 5 and d not in closed:
                days.append(d)
            d += ONE_DAY
    return sorted(days)


def demo_calendar(spec: DemoSchool, today: date) -> tuple[list[CalendarEntry], list[date], list[date]]:
    """This school year's calendar, its open days and the open days to mark (before today).

    Before the first day of a school year (e.g. in August) the previous year is used, so
    the demo always has a register history.
    """
    start_year = school_year_start(today).year
    entries = calendar_entries(spec, start_year)
    days = open_days_of(entries)
    if not days or days[0] >= today:
        entries = calendar_entries(spec, start_year - 1)
        days = open_days_of(entries)
    return entries, days, [d for d in days if d < today]


# --- people -------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isalnum() and c.isascii())


def _email(first: str, last: str, rng: random.Random) -> str:
    local = f"{_ascii(first)}.{_ascii(last)}".lower()
    if rng.random() < .3:
        local += str(rng.randint(1, 99))
    return f"{local}@{rng.choice(['example.com', 'example.org', 'example.net'])}"


def _staff_email(person: Person, key: str) -> str:
    return f"{_ascii(person.first)}.{_ascii(person.last)}@{key}.example.org".lower()


def _gendered(surname: str, gender: str) -> str:
    """Polish surnames ending -ski/-cki take -ska/-cka for women and girls."""
    if gender == "F" and surname.endswith(("ski", "cki")):
        return surname[:-1] + "a"
    return surname


@dataclass
class _Contact:
    title: str
    forename: str
    surname: str
    relationship: str
    address: str
    mobile: str
    phone: str = ""
    email: str = ""
    parental_responsibility: bool = True


@dataclass(eq=False)
class _Family:
    heritage: str
    surname: str
    address: str
    contacts: list
    correspondence: int = 0          # index into contacts
    lac: bool = False
    fsm: bool = False
    eal: bool = False
    child_protection: bool = False
    children: list = field(default_factory=list)
    user: User | None = None
    shared: bool = False             # the family with a child in each LAP academy


class _Names:
    """Random names, addresses and phone numbers for one school."""

    def __init__(self, spec: DemoSchool, rng: random.Random):
        self.spec, self.rng = spec, rng
        self.mobiles = rng.sample(range(1000), 1000)
        self.landlines = rng.sample(range(1000), 1000)

    def heritage(self) -> str:
        keys = list(self.spec.heritage)
        return self.rng.choices(keys, weights=[self.spec.heritage[k] for k in keys])[0]

    def surname(self, heritage: str) -> str:
        pool = NAMES[heritage]["surnames"]
        if heritage == "british" and self.spec.surnames and self.rng.random() < .25:
            pool = self.spec.surnames
        return self.rng.choice(pool)

    def address(self) -> str:
        r = self.rng
        unit = f"{r.randint(1, 9)}{r.choice('ABDEFGHJLNPQRSTUWXYZ')}{r.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        flat = f"Flat {r.randint(1, 12)}, " if r.random() < .12 else ""
        return (f"{flat}{r.randint(1, 180)} {r.choice(self.spec.streets)}\n{self.spec.town}\n"
                f"{r.choice(self.spec.postcodes)} {unit}")

    def mobile(self) -> str:
        n = self.mobiles.pop() if self.mobiles else self.rng.randrange(1000)
        return f"07700 900{n:03d}"

    def landline(self) -> str:
        n = self.landlines.pop() if self.landlines else self.rng.randrange(1000)
        return f"{self.spec.landline}{n:03d}"

    def adult(self, heritage: str, gender: str, surname: str, relationship: str, address: str,
              *, married: bool = True, email: bool = True) -> _Contact:
        r = self.rng
        first = r.choice(NAMES[heritage]["women" if gender == "F" else "men"])
        if gender == "F":
            title = r.choices(["Mrs", "Ms", "Miss", "Dr"], weights=[60, 22, 15, 3])[0] if married \
                else r.choices(["Ms", "Miss", "Mrs"], weights=[50, 40, 10])[0]
        else:
            title = "Dr" if r.random() < .03 else "Mr"
        surname = _gendered(surname, gender)
        return _Contact(title=title, forename=first, surname=surname, relationship=relationship,
                        address=address, mobile=self.mobile(),
                        phone=self.landline() if r.random() < .3 else "",
                        email=_email(first, surname, r) if email and r.random() < .88 else "")

    def family(self) -> _Family:
        """A household: parents or carers in priority order, one flagged for correspondence."""
        r = self.rng
        heritage = self.heritage()
        surname = self.surname(heritage)
        address = self.address()
        kind = r.choices(["married", "partners", "single", "separated"], weights=[48, 20, 22, 10])[0]
        mother_surname = surname
        if heritage == "south_asian" and surname == "Singh":
            mother_surname = "Kaur"
        elif kind == "partners" or (heritage == "south_asian" and r.random() < .25):
            mother_surname = self.surname(heritage)
        mother = self.adult(heritage, "F", mother_surname, "Mother", address,
                            married=kind == "married")
        if kind in ("married", "partners"):
            father = self.adult(heritage, "M", surname, "Father", address)
            contacts = [mother, father] if r.random() < .75 else [father, mother]
        elif kind == "separated":
            other = self.address()
            father = self.adult(heritage, "M", surname, "Father", other)
            contacts = [mother, father] if r.random() < .8 else [father, mother]
        else:
            relation, gender = r.choice([("Grandmother", "F"), ("Grandfather", "M"),
                                         ("Aunt", "F"), ("Uncle", "M")])
            relative = self.adult(heritage, gender, self.surname(heritage) if r.random() < .4
                                  else mother_surname, relation, self.address(), email=False)
            relative.parental_responsibility = False
            contacts = [mother, relative]
        if r.random() < .15:   # a grandparent as a third emergency contact
            gp = self.adult(heritage, r.choice("FM"), mother_surname, "Grandparent", self.address(),
                            email=False)
            gp.relationship = "Grandmother" if gp.title in ("Mrs", "Ms", "Miss") else "Grandfather"
            gp.parental_responsibility = False
            contacts.append(gp)
        corr = 0 if r.random() < .85 or not contacts[1].parental_responsibility else 1
        return _Family(heritage=heritage, surname=surname, address=address, contacts=contacts,
                       correspondence=corr)

    def foster_family(self) -> _Family:
        """A looked-after child: foster carers, the social worker and the birth mother."""
        r = self.rng
        heritage = self.heritage()
        address = self.address()
        carer_surname = self.surname("british")
        carer = self.adult("british", "F", carer_surname, "Foster carer", address)
        carer.parental_responsibility = False
        la = self.spec.la[0]
        sw = Person(r.choice(["Ms", "Mr", "Mrs"]), r.choice(NAMES["british"]["women"]),
                    self.surname("british"))
        social = _Contact(title=sw.title, forename=sw.first, surname=sw.last,
                          relationship="Social worker (local authority)",
                          address=f"Children's Services\n{self.spec.town}",
                          mobile=self.mobile(), phone=self.landline(),
                          email=f"{_ascii(sw.first)}.{_ascii(sw.last)}@{la}.example.org".lower(),
                          parental_responsibility=True)
        child_surname = self.surname(heritage)
        birth = self.adult(heritage, "F", child_surname, "Mother", self.address(), married=False,
                           email=False)
        return _Family(heritage=heritage, surname=child_surname, address=address,
                       contacts=[carer, social, birth], correspondence=0, lac=True)

    def forename(self, heritage: str, gender: str, avoid: set) -> tuple[str, str]:
        """Legal forename and (sometimes) the forename the child is known by."""
        r = self.rng
        pool = NAMES[heritage]["girls" if gender == "F" else "boys"]
        if heritage != "british" and r.random() < .12:
            pool = NAMES["british"]["girls" if gender == "F" else "boys"]
        name = r.choice([n for n in pool if n not in avoid] or pool)
        if heritage == "south_asian" and gender == "M" and r.random() < .3:
            return f"Muhammad {name}", name
        if name in KNOWN_AS and r.random() < .45:
            return name, r.choice(KNOWN_AS[name])
        return name, ""


# --- pupils -------------------------------------------------------------------------------


@dataclass(eq=False)
class _Plan:
    """One pupil being generated, with what drives their marks."""

    pupil: Pupil
    family: _Family
    group: str
    nursery: str = ""          # "", "am", "pm", "short_week", "full": which sessions are required
    profile: str = "good"
    late_rate: float = .004
    u_share: float = .08
    holiday: bool = False
    religious: bool = False
    leave: bool = False
    staggered: bool = False    # young reception pupils: mornings only for the first days


def _weighted_sample(rng: random.Random, items: list, weights: list, k: int) -> list:
    """k distinct items, each drawn with probability proportional to its weight."""
    keyed = sorted(((rng.random() ** (1 / w), i) for i, w in enumerate(weights) if w > 0), reverse=True)
    return [items[i] for _, i in keyed[:k]]


def _past_term_day(rng: random.Random, start_year: int, end_year: int) -> date:
    """A weekday inside some past school year's terms (roughly: never August)."""
    while True:
        year = rng.randint(start_year, end_year)
        d = date(year, 9, 8) + timedelta(days=rng.randint(0, 300))
        if d.weekday() < 5 and d.month != 8 and not (d.month == 12 and d.day > 19) \
                and not (d.month == 7 and d.day > 18):
            return d


class _UPNs:
    """Unique, valid UPNs: check letter + LA + establishment + year allocated + serial."""

    OTHER_LAS = (330, 202, 926, 341, 873, 800, 335, 371, 888, 213)

    def __init__(self, la: int, estab: int, rng: random.Random):
        self.la, self.estab, self.rng = la, estab, rng
        self.serials: dict[int, int] = {}
        self.seen: set[str] = set()

    def next(self, year: int, elsewhere: bool = False) -> str:
        while True:
            if elsewhere:
                body = (f"{self.rng.choice(self.OTHER_LAS):03d}{self.rng.randint(2000, 2999):04d}"
                        f"{year % 100:02d}{self.rng.randint(1, 999):03d}")
            else:
                self.serials[year] = self.serials.get(year, 0) + 1
                body = f"{self.la:03d}{self.estab:04d}{year % 100:02d}{self.serials[year]:03d}"
            upn = calc_check_digit(body) + body
            if upn not in self.seen:
                self.seen.add(upn)
                return upn


YEAR_SHORT = {-2: "N1", -1: "N2", 0: "R"}


def _year_short(yg: int) -> str:
    return YEAR_SHORT.get(yg, str(yg))


def _class_sizes(spec: DemoSchool, pupils: int) -> dict[int, int]:
    total = sum(spec.year_weights)
    sizes = {yg: max(1, round(pupils * w / total)) for yg, w in zip(spec.year_groups, spec.year_weights,
                                                                       strict=True)}
    # Make the total exact by adjusting the biggest year groups.
    diff = pupils - sum(sizes.values())
    order = sorted(sizes, key=lambda yg: -sizes[yg])
    for i in range(abs(diff)):
        sizes[order[i % len(order)]] += 1 if diff > 0 else -1
    return sizes


# --- the generator for one school ---------------------------------------------------------


@dataclass
class PopulateResult:
    school: School
    pupils: int = 0
    contacts: int = 0
    marks: int = 0
    amendments: int = 0
    classes: int = 0
    users: int = 0
    first_day: date | None = None
    last_marked: date | None = None


def spec_for(school: School) -> DemoSchool:
    """The demo spec for a school: its own if it is a demo school, else one like its preset."""
    for spec in SCHOOLS:
        if spec.schema == school.schema_name:
            return spec
    base = next((s for s in SCHOOLS if s.preset == school.preset), SCHOOLS[0])
    return replace(base, key=school.schema_name, schema=school.schema_name, name=school.name)


def school_populate(*, school: School, pupils: int = 200, seed: int = 1, today: date | None = None,
                    spec: DemoSchool | None = None, password_hash: str | None = None,
                    shared_family: tuple | None = None) -> PopulateResult:
    """Fill one existing school tenant with demo data (calendar, classes, people, pupils, marks).

    ``today`` defaults to the real date; marks run from the first day of term to the last
    open day before it.
    """
    spec = spec or spec_for(school)
    today = today or date.today()
    rng = random.Random(f"demo:{seed}:{spec.key}")
    password_hash = password_hash or make_password(DEMO_PASSWORD)
    with schema_context(school.schema_name), transaction.atomic():
        return _Generator(school, spec, rng, today, password_hash, shared_family).run(pupils)


class _Generator:
    def __init__(self, school, spec, rng, today, password_hash, shared_family):
        self.school, self.spec, self.rng, self.today = school, spec, rng, today
        self.password_hash, self.shared_family = password_hash, shared_family
        self.names = _Names(spec, rng)
        self.users: list[User] = []
        self.result = PopulateResult(school=school)

    # people
    def grant(self, username: str, role: str, person: Person, email: str = "") -> User:
        user = person_grant(username=username, role=role, school=self.school, first_name=person.first,
                            last_name=person.last, email=email or _staff_email(person, self.spec.key))
        self.users.append(user)
        return user

    def run(self, pupils: int) -> PopulateResult:
        spec = self.spec
        entries, self.all_days, self.days = demo_calendar(spec, self.today)
        calendar_replace(entries=entries)
        self.start_year = self.all_days[0].year
        self.terms = term_dates(self.start_year)
        self.result.first_day = self.all_days[0]
        self.result.last_marked = self.days[-1] if self.days else None

        School.objects.filter(pk=self.school.pk).update(
            urn=spec.urn, estab=f"{spec.estab:04d}", address=spec.address, phone=spec.phone,
            email=f"office@{spec.key}.example.org", headteacher=spec.staff["head"].full)
        self.staff = {role: self.grant(f"{spec.key}.{ROLE_USERNAME[role]}",
                                       Role.HEAD if role == "champion" else role, person)
                      for role, person in spec.staff.items()}
        la_key, la_person, _ = spec.la
        self.grant(f"{la_key}.la", Role.LA_OFFICER, la_person,
                   email=f"{_ascii(la_person.first)}.{_ascii(la_person.last)}@{la_key}.example.org".lower())

        groups = self.make_classes(pupils)
        plans = self.make_pupils(groups)
        self.save_pupils(plans)
        self.make_marks(plans, groups)
        self.make_arrangements(plans)
        User.objects.filter(pk__in=[u.pk for u in self.users]).update(password=self.password_hash)
        self.result.users = len({u.pk for u in self.users})
        return self.result

    def make_classes(self, pupils: int) -> dict[int, list[RegistrationGroup]]:
        """Classes of at most 30 per year group (the infant class size limit), one teacher each."""
        themes = list(self.spec.themes)
        out: dict[int, list[RegistrationGroup]] = {}
        self.targets: dict[str, int] = {}
        for yg, n in _class_sizes(self.spec, pupils).items():
            count = max(1, math.ceil(n / 30))
            out[yg] = []
            for i in range(count):
                theme = themes.pop(0) if themes else str(i + 1)
                group = RegistrationGroup(name=f"{_year_short(yg)} {theme}", year_group=yg)
                self.targets[group.name] = n // count + (1 if i < n % count else 0)
                out[yg].append(group)
        RegistrationGroup.objects.bulk_create([g for gs in out.values() for g in gs])
        self.teachers: dict[str, User] = {}
        for gs in out.values():
            for g in gs:
                gender = self.rng.choice("FM")
                first = self.rng.choice(NAMES["british"]["women" if gender == "F" else "men"])
                title = self.rng.choice(["Mrs", "Miss", "Ms"]) if gender == "F" else "Mr"
                person = Person(title, first, self.names.surname("british"))
                user = self.grant(f"{self.spec.key}.teacher.{_ascii(g.name).lower()}", Role.TEACHER,
                                  person)
                g.teachers.add(user)
                self.teachers[g.name] = user
        self.result.classes = sum(len(gs) for gs in out.values())
        return out

    # pupils and families
    def make_pupils(self, groups: dict[int, list[RegistrationGroup]]) -> list[_Plan]:
        """Households first (siblings in different year groups), then a pupil per child."""
        rng = self.rng
        left = {yg: sum(self.targets[g.name] for g in gs) for yg, gs in groups.items()}
        self.filled = {g.name: 0 for gs in groups.values() for g in gs}
        children: list[tuple[_Family, str | None, str | None, int]] = []
        families: list[_Family] = []
        if self.shared_family:
            template, _, (forename, gender, yg) = self.shared_family
            fam = replace(template, children=[], shared=True)
            if yg not in left:
                yg = max(left)
            left[yg] = max(0, left[yg] - 1)
            families.append(fam)
            children.append((fam, forename, gender, yg))
        lac_left = max(1, round(sum(left.values()) * .01))
        while any(left.values()):
            if lac_left:
                fam, size = self.names.foster_family(), 1
                lac_left -= 1
            else:
                fam = self.names.family()
                size = rng.choices([1, 2, 3], weights=[62, 29, 9])[0]
            years = [yg for yg, n in left.items() if n]
            rng.shuffle(years)
            families.append(fam)
            for yg in sorted(years[:size]):
                left[yg] -= 1
                children.append((fam, None, None, yg))
        upns = _UPNs(self.school.la_code or 878, self.spec.estab, rng)
        plans = []
        names_used: dict[int, set] = {}
        for fam, forename, gender, yg in children:
            gender = gender or rng.choices("FM", weights=[49, 51])[0]
            used = names_used.setdefault(id(fam), set())
            legal, preferred = (forename, "") if forename else self.names.forename(fam.heritage, gender, used)
            used.add(legal)
            plan = self.make_plan(fam, legal, preferred, gender, yg, self.class_for(groups, yg), upns)
            fam.children.append(plan)
            plans.append(plan)
        self.families = families
        self.assign_flags(plans, families)
        return plans

    def class_for(self, groups, yg: int) -> RegistrationGroup:
        group = min(groups[yg], key=lambda g: self.filled[g.name] / max(self.targets[g.name], 1))
        self.filled[group.name] += 1
        return group

    def first_open_on_or_after(self, day: date) -> date | None:
        return next((d for d in self.days if d >= day), None)

    def make_plan(self, fam, legal, preferred, gender, yg, group, upns) -> _Plan:
        """Date of birth from the year group, admission (and perhaps leaving) dates, UPN."""
        rng, y, first_day = self.rng, self.start_year, self.all_days[0]
        born_from = date(y - 5 - yg, 9, 1)
        dob = born_from + timedelta(days=rng.randrange((date(y - 4 - yg, 9, 1) - born_from).days))
        # The September the child started here: reception, or the school's nursery.
        entry_year = y - yg if yg >= 0 else y
        if self.spec.year_groups[0] < 0 and yg >= -1 and rng.random() < (.6 if yg >= 0 else .4):
            entry_year -= 1
        admission = first_day if entry_year >= y else _skip_weekend(date(entry_year, 9, 3))
        upn_year, elsewhere = admission.year, False
        leaving, ground = None, ""
        r = rng.random()
        enough = len(self.days) > 15
        if entry_year < y and r < .14:                 # joined part-way through a past year
            admission = _past_term_day(rng, entry_year, y - 1)
            upn_year, elsewhere = entry_year, rng.random() < .6
        elif enough and r < .17:                         # joined this term
            admission = rng.choice(self.days[5:-3])
            upn_year, elsewhere = min(entry_year, y), True
        elif enough and r < .19:                         # left this term
            leaving = rng.choice(self.days[4:-2])
            admission = min(admission, leaving)
            ground = rng.choices([DeletionGround.OTHER_SCHOOL, DeletionGround.MOVED_AWAY,
                                  DeletionGround.HOME_EDUCATION], weights=[70, 20, 10])[0]
        elif r < .20:                                    # starts after today: not on roll yet
            admission = _skip_weekend(self.today + timedelta(days=rng.randint(5, 12)))
            upn_year = admission.year
        elif yg == -2 and rng.random() < .3:             # started nursery after October half term
            admission = self.first_open_on_or_after(self.terms["a2_start"]) or admission
        pupil = Pupil(
            upn=upns.next(upn_year, elsewhere), legal_surname=_gendered(fam.surname, gender),
            legal_forename=legal, preferred_forename=preferred, date_of_birth=dob, gender=gender,
            year_group=yg, registration_group=group, admission_date=admission, leaving_date=leaving,
            deletion_ground=ground, address=fam.address)
        plan = _Plan(pupil=pupil, family=fam, group=group.name)
        if yg < 0:   # funded hours: mornings, afternoons, a short week or full time
            plan.nursery = rng.choices(["am", "pm", "short_week", "full"],
                                       weights=[40, 30, 30, 0] if yg == -2 else [25, 15, 10, 50])[0]
        plan.staggered = yg == 0 and admission == first_day
        return plan

    # Complexity: demo data: one branch per pupil characteristic, each with its seeded share.
    def assign_flags(self, plans: list[_Plan], families: list[_Family]) -> None:  # noqa: C901
        """Group memberships at realistic rates, with the usual correlations."""
        rng, n = self.rng, len(plans)
        fams = [f for f in families if f.children]
        rng.shuffle(fams)
        # FSM is a household matter: siblings share it. Looked-after children get pupil
        # premium plus through the local authority instead.
        count = 0
        for fam in fams:
            if count >= .22 * n:
                break
            if fam.lac:
                continue
            fam.fsm = True
            count += len(fam.children)
        cp_count = 0
        for fam in fams:
            fam.eal = fam.heritage != "british" and rng.random() < .7
            if cp_count < max(1, round(.02 * n)) and not fam.lac and (fam.fsm or rng.random() < .3):
                fam.child_protection = True
                cp_count += len(fam.children)
        for plan in plans:
            p, fam = plan.pupil, plan.family
            p.fsm, p.eal, p.lac = fam.fsm, fam.eal, fam.lac
            p.child_protection = fam.child_protection
            p.pupil_premium = fam.fsm or fam.lac
        others = [pl for pl in plans if not pl.pupil.pupil_premium]
        for pl in rng.sample(others, min(len(others), round(.03 * n))):   # ever-6, service children
            pl.pupil.pupil_premium = True
        boy = [3 if pl.pupil.gender == "M" else 1 for pl in plans]
        ehcp = _weighted_sample(rng, plans, boy, max(1, round(.03 * n)))
        for pl in ehcp:
            pl.pupil.sen_status = Pupil.SEN.EHCP
        rest = [pl for pl in plans if pl not in ehcp]
        for pl in _weighted_sample(rng, rest, [2 if pl.pupil.gender == "M" else 1 for pl in rest],
                                   round(.13 * n)):
            pl.pupil.sen_status = Pupil.SEN.SUPPORT
        carers = [pl for pl in plans if pl.pupil.year_group >= 1]
        for pl in rng.sample(carers, min(len(carers), max(1, round(.02 * n)))):
            pl.pupil.young_carer = True
        for pl in rng.sample(plans, round(.08 * n)):
            pl.pupil.medical_notes = rng.choice(MEDICAL)
        for pl in plans:
            p = pl.pupil
            p.social_worker = p.lac or p.child_protection or rng.random() < .01
            if not p.preferred_forename and pl.family.heritage == "british" and rng.random() < .02:
                # known by a step-parent's surname
                p.preferred_surname = pl.family.contacts[0].surname if \
                    pl.family.contacts[0].surname != p.legal_surname else self.names.surname("british")
        self.assign_profiles(plans)

    # Complexity: demo data: one branch per absence profile.
    def assign_profiles(self, plans: list[_Plan]) -> None:  # noqa: C901
        """Absence profiles: persistent absence is likelier with FSM, SEN, CP or a social worker."""
        rng, n = self.rng, len(plans)

        def risk(pl):
            p = pl.pupil
            w = 1.0
            w *= 2.5 if p.fsm else 1
            w *= 2 if p.sen_status != Pupil.SEN.NONE else 1
            w *= 2 if p.child_protection or p.social_worker else 1
            w *= 1.5 if p.young_carer else 1
            return w

        pool = list(plans)
        # Shares that give a queue an attendance lead can work (issue 12): about one pupil in eight
        # persistently absent by late autumn, a few more between 90% and 96%; everyone else
        # (about four in five) at or above 96%, bar a holiday or a run of lates.
        for profile, k in (("severe", 1 if n < 150 else 2), ("pa", round(.12 * n)),
                           ("fair", round(.06 * n))):
            chosen = _weighted_sample(rng, pool, [risk(pl) for pl in pool], k)
            for pl in chosen:
                pl.profile = profile
            pool = [pl for pl in pool if pl not in chosen]
        rng.shuffle(pool)
        for i, pl in enumerate(pool):
            pl.profile = "excellent" if i < .36 * n else "good"
        for pl in plans:
            r = rng.random()
            habitual = .25 if pl.profile in ("pa", "severe") else .04
            if r < habitual:
                pl.late_rate, pl.u_share = rng.uniform(.1, .22), .3
            elif r < habitual + .3:
                pl.late_rate, pl.u_share = rng.uniform(.015, .05), .08
        older = [pl for pl in plans if pl.pupil.year_group >= 0 and pl.profile in ("good", "fair")]
        for pl in rng.sample(older, min(2, len(older))):
            pl.holiday = True
        faiths = [pl for pl in plans if pl.family.heritage in ("south_asian", "african")] or plans
        for pl in rng.sample(faiths, min(len(faiths), max(1, round(.02 * n)))):
            pl.religious = True
        for pl in rng.sample(plans, min(len(plans), max(1, round(.015 * n)))):
            pl.leave = True

    def save_pupils(self, plans: list[_Plan]) -> None:
        Pupil.objects.bulk_create([pl.pupil for pl in plans], batch_size=1000)
        self.link_parents()
        contacts = []
        for pl in plans:
            fam = pl.family
            for i, c in enumerate(fam.contacts):
                contacts.append(Contact(
                    pupil=pl.pupil, priority=i + 1, title=c.title, forename=c.forename,
                    surname=c.surname, relationship=c.relationship,
                    parental_responsibility=c.parental_responsibility,
                    correspondence=i == fam.correspondence, phone=c.phone, mobile=c.mobile,
                    email=c.email, address=c.address,
                    user=fam.user if fam.user is not None and i == fam.correspondence else None))
        Contact.objects.bulk_create(contacts, batch_size=1000)
        self.result.pupils, self.result.contacts = len(plans), len(contacts)

    # Nursery patterns as session slots (registers.models.SESSION_SLOTS); "full" has none.
    NURSERY_SLOTS = {
        "am": [f"{d}-AM" for d in WEEKDAY_KEYS], "pm": [f"{d}-PM" for d in WEEKDAY_KEYS],
        "short_week": ["MON-AM", "MON-PM", "TUE-AM", "TUE-PM", "WED-AM"]}
    NURSERY_LABELS = {"am": "15 hours: five mornings", "pm": "15 hours: five afternoons",
                      "short_week": "15 hours: Monday, Tuesday and Wednesday morning"}

    def make_arrangements(self, plans: list[_Plan]) -> None:
        """Nursery pupils' required sessions, one pupil of compulsory school age on a
        part-time timetable and another at off-site provision (K on Tuesday and Thursday
        afternoons), both starting today (so the generated marks do not contradict them)."""
        SessionPattern.objects.bulk_create([
            SessionPattern(pupil=pl.pupil, label=self.NURSERY_LABELS[pl.nursery],
                           sessions=self.NURSERY_SLOTS[pl.nursery],
                           start_date=pl.pupil.admission_date)
            for pl in plans if pl.nursery in self.NURSERY_SLOTS])
        school_age = [pl for pl in plans if pl.pupil.year_group >= 1 and not pl.pupil.leaving_date]
        if not school_age:
            return
        pupil = school_age[len(school_age) // 2].pupil
        start = self.today
        timetable = PartTimeTimetable.objects.create(
            pupil=pupil, start_date=start, planned_end=start + timedelta(weeks=5),
            sessions=[f"{d}-AM" for d in WEEKDAY_KEYS], parent_agreed_on=start - timedelta(days=3),
            reason="Anxiety after a long illness: a phased return, mornings first",
            social_worker_informed_on=start if pupil.social_worker else None,
            la_consulted_on=start - timedelta(days=5) if pupil.sen_status == "E" else None,
            la_notified_on=start - timedelta(days=1))
        PartTimeReview.objects.bulk_create([
            PartTimeReview(timetable=timetable, due=start + timedelta(weeks=w)) for w in (2, 4)])
        others = [pl.pupil for pl in school_age if pl.pupil.pk != pupil.pk]
        if others:
            OffSiteProvision.objects.create(
                pupil=others[len(others) // 3], provider="Hillside Learning Centre",
                provider_contact="Ms J Reed, attendance officer, 0161 496 0000, "
                                 "attendance@hillside.example.org",
                code=OffSiteProvision.Code.K, sessions=["TUE-PM", "THU-PM"], start_date=start,
                reason="Local authority alternative provision: two afternoons a week of "
                       "social and emotional support alongside school")

    def link_parents(self) -> None:
        """A few parents get a portal login linked to their contact records."""
        rng = self.rng
        candidates = [f for f in self.families if f.children and not f.lac
                      and f.contacts[f.correspondence].email
                      and any(pl.pupil.leaving_date is None for pl in f.children)
                      and not f.shared]
        siblings = [f for f in candidates if len(f.children) > 1]
        chosen = (siblings[:1] + [f for f in rng.sample(candidates, min(len(candidates), 8))
                                  if f not in siblings[:1]])[:5]
        for i, fam in enumerate(chosen, start=1):
            c = fam.contacts[fam.correspondence]
            fam.user = self.grant(f"{self.spec.key}.parent{i}", Role.PARENT,
                                  Person(c.title, c.forename, c.surname), email=c.email)
        if self.shared_family:
            username = self.shared_family[1]
            fam = next(f for f in self.families if f.shared)
            c = fam.contacts[fam.correspondence]
            fam.user = self.grant(username, Role.PARENT, Person(c.title, c.forename, c.surname),
                                  email=c.email)

    # marks
    def make_marks(self, plans: list[_Plan], groups) -> None:
        if not self.days:
            return
        rows, amendments = _MarkSimulator(self, plans, groups).run()
        self.result.marks, self.result.amendments = marks_history_load(rows, amendments)


# --- marks --------------------------------------------------------------------------------

ILL_RUN = ([1, 2, 3, 4, 5], [35, 25, 20, 12, 8])
PROFILE_ABSENCE = {   # (lowest, highest) share of required sessions missed
    "excellent": (0, 0), "good": (.005, .03), "fair": (.045, .095), "pa": (.10, .24),
    "severe": (.5, .7),
}
PROFILE_EVENTS = {
    "good": {"ill_run": 55, "med": 22, "ill_pm": 8, "unexplained": 7, "ill_reported": 8},
    "fair": {"ill_run": 50, "med": 14, "ill_pm": 6, "unexplained": 14, "ill_reported": 16},
    "pa": {"ill_run": 36, "med": 8, "ill_pm": 6, "unexplained": 34, "ill_reported": 16},
    "severe": {"unexplained_run": 45, "ill_run": 40, "unexplained": 15},
}


class _MarkSimulator:
    """Turns each pupil's profile into codes for every open session they are on roll."""

    def __init__(self, gen: _Generator, plans: list[_Plan], groups):
        self.gen, self.plans, self.rng = gen, plans, gen.rng
        self.school, self.days = gen.school, gen.days
        self.index = {d: i for i, d in enumerate(self.days)}
        self.last = len(self.days) - 1
        self.window = {s: _minutes_between(*gen.school.register_times(s)[1:]) for s in (AM, PM)}
        self.office, self.officer = gen.staff["office"], gen.staff["attendance_officer"]
        self.rows: list[tuple] = []
        self.amendments: list[tuple] = []
        rng = self.rng
        # Class trips (V), and a sports fixture (P) one afternoon for some of the oldest pupils.
        classes = [g for gs in groups.values() for g in gs if g.year_group >= 0]
        self.trips = {(g.name, rng.randrange(len(self.days)))
                      for g in rng.sample(classes, min(len(classes), 4))}
        oldest = max((g.year_group for g in classes), default=None)
        pool = [pl for pl in plans if pl.pupil.year_group == oldest]
        self.sport = {id(pl) for pl in rng.sample(pool, min(len(pool), 8))}
        self.sport_day = rng.randrange(len(self.days))
        # Unexplained absences on the last two days: still N, awaiting a reason.
        self.recent_n = {(id(pl), i) for i in (self.last, self.last - 1) if i >= 0
                         for pl in rng.sample(plans, max(1, round(len(plans) * .015)))}
        # Holidays not granted: the week before October half term or the week after it.
        self.before_half_term = max((i for i, d in enumerate(self.days) if d <= gen.terms["a1_end"]),
                                    default=None)

    def at(self, i: int, t: time, plus: int = 0) -> datetime:
        return datetime.combine(self.days[i], t, tzinfo=LONDON) + timedelta(minutes=plus)

    def required(self, plan: _Plan, i: int, session: str) -> bool:
        """Nursery pupils attend their funded sessions only; the rest are X (not required)."""
        kind = plan.nursery
        wd = self.days[i].weekday()
        if kind == "am":
            return session == AM
        if kind == "pm":
            return session == PM
        if kind == "short_week":   # Monday, Tuesday and Wednesday morning
            return wd < 2 or (wd == 2 and session == AM)
        if plan.staggered and session == PM:
            return i >= 3          # young reception pupils: mornings only for the first three days
        return True

    def run(self) -> tuple[list, list]:
        for plan in self.plans:
            self.pupil(plan)
        self.late_corrections()
        return self.rows, self.amendments

    # Complexity: demo data: one seeded draw per pupil attribute, in a fixed order (same seed, same school).
    def pupil(self, plan: _Plan) -> None:  # noqa: C901
        p, rng = plan.pupil, self.rng
        if p.admission_date > self.days[-1] or (p.leaving_date and p.leaving_date < self.days[0]):
            return
        i0 = next(i for i, d in enumerate(self.days) if d >= p.admission_date)
        end = p.leaving_date or self.days[-1]
        i1 = max(i for i, d in enumerate(self.days) if d <= end)
        cells = [(i, s) for i in range(i0, i1 + 1) for s in (AM, PM) if self.required(plan, i, s)]
        required = set(cells)
        free = set(cells)
        absent: dict[tuple, tuple[str, str]] = {}   # cell -> (code, kind)

        def place(kind: str, code: str, cs: list) -> int:
            if not cs or any(c not in free for c in cs):
                return 0
            for c in cs:
                free.discard(c)
                absent[c] = (code, kind)
            return len(cs)

        def day_cells(i: int, k: int = 1) -> list:
            if i < i0 or i + k - 1 > i1:
                return []
            return [(j, s) for j in range(i, i + k) for s in (AM, PM) if (j, s) in required]

        used = 0
        span = i1 - i0 + 1
        if plan.holiday and span > 10:
            ht = self.before_half_term
            start = rng.choice([ht - 4, ht + 1]) if ht is not None else rng.randint(i0, i1 - 4)
            used += place("holiday", "G", day_cells(start, 5) or day_cells(rng.randint(i0, i1 - 4), 5))
        if plan.religious:
            used += place("religious", "R", day_cells(rng.randint(i0, i1)))
        if plan.leave and span > 3:
            used += place("leave", "C", day_cells(rng.randint(i0, i1 - 1), rng.choice([1, 1, 2])))
        for i in (self.last, self.last - 1):
            if (id(plan), i) in self.recent_n:
                used += place("unexplained", "N", day_cells(i))

        # Fill the profile's share of absence with its kinds of absence.
        n = len(cells)
        lo, hi = PROFILE_ABSENCE[plan.profile]
        budget = round(rng.uniform(lo, hi) * n)
        if plan.profile in ("pa", "severe"):
            budget, limit = max(budget, math.ceil(n / 10)), n
        else:
            limit = min((10 * n - 1) // 100, budget + 1)   # stays under 10% absence
        events = PROFILE_EVENTS.get(plan.profile, {})
        kinds, weights = list(events), list(events.values())
        starts = range(i0, i1 + 1)
        dow = [3 if self.days[i].weekday() in (0, 4) else 1 for i in starts]
        tries = 0
        while used < budget and kinds and tries < 400:
            tries += 1
            kind = rng.choices(kinds, weights)[0]
            if plan.profile in ("pa", "severe") and kind.startswith("unexplained"):
                i = rng.choices(starts, dow)[0]   # Mondays and Fridays
            else:
                i = rng.choice(starts)
            if kind == "ill_run":
                cs, code = day_cells(i, rng.choices(*ILL_RUN)[0]), "I"
            elif kind == "unexplained_run":
                cs, code = day_cells(i, rng.randint(3, 8)), "O"
            elif kind == "ill_pm":
                cs, code = [(i, PM)], "I"
            elif kind == "med":
                cs, code = [(i, rng.choice((AM, PM)))], "M"
            else:   # a day off: unexplained, or explained by a parent's call later
                cs, code = day_cells(i), "I" if kind == "ill_reported" else "O"
            if used + len(cs) > limit:
                continue
            used += place(kind, code, cs)

        teacher = self.gen.teachers.get(plan.group)
        teacher_id = teacher.pk if teacher else None
        late_am, late_pm = plan.late_rate, plan.late_rate / 8
        for i in range(i0, i1 + 1):
            trip = (plan.group, i) in self.trips
            for s in (AM, PM):
                cell = (i, s)
                opens, late_after, _ = self.school.register_times(s)
                recorded = self.at(i, opens, rng.randint(1, 9))
                minutes, by = None, teacher_id
                if cell not in required:
                    code = "X"
                elif cell in absent:
                    code, kind = absent[cell]
                    code, by, recorded = self.resolve(p, i, s, code, kind, by, recorded)
                elif trip:
                    code = "V"
                elif s == PM and i == self.sport_day and id(plan) in self.sport:
                    code = "P"
                elif rng.random() < (late_am if s == AM else late_pm):
                    if rng.random() < plan.u_share:
                        minutes = self.window[s] + rng.randint(1, 35)
                    else:
                        minutes = max(1, min(25, self.window[s], int(rng.expovariate(1 / 6)) + 1))
                    code = late_code(school=self.school, session=s, minutes_late=minutes)
                    recorded, by = self.at(i, late_after, minutes + 1), self.office.pk
                else:
                    code = "/" if s == AM else "\\"
                self.rows.append((p.pk, self.days[i], s, code, minutes, by, recorded))

    def resolve(self, p: Pupil, i: int, s: str, code: str, kind: str, by, recorded):
        """Unexplained absences start as N: after 5 school days with no reason they became O;
        when a parent phoned later they became I. Each change left an amendment row."""
        if kind not in ("unexplained", "unexplained_run", "ill_reported"):
            return code, by, recorded
        if kind == "ill_reported":
            at = self.at(i, time(10, 15), self.rng.randint(0, 120))
            if i < self.last and self.rng.random() < .5:
                at = self.at(i + 1, time(8, 35), self.rng.randint(0, 40))
            self.amend(p.pk, i, s, "N", "I", "Parent phoned: unwell", self.office, Role.OFFICE, at)
            return "I", self.office.pk, at
        if self.last - i >= 5:
            at = self.at(i + 5, time(15, 30), self.rng.randint(0, 60))
            self.amend(p.pk, i, s, "N", "O", "No reason received within 5 school days",
                       self.officer, Role.ATTENDANCE_OFFICER, at)
            return "O", self.officer.pk, at
        return "N", by, recorded

    def amend(self, pupil_id, i, s, old, new, reason, user, role, at, old_min=None, new_min=None):
        self.amendments.append((pupil_id, self.days[i], s, old, old_min, new, new_min, reason,
                                user.pk, user.get_full_name() or user.username, role, at))

    def late_corrections(self) -> None:
        """A few pupils marked present had signed in late at the office: / became L."""
        lates = [k for k, r in enumerate(self.rows) if r[3] == "L" and r[2] == AM]
        for k in self.rng.sample(lates, min(len(lates), 4)):
            pk, day, s, code, minutes, _, recorded = self.rows[k]
            at = recorded + timedelta(minutes=self.rng.randint(20, 90))
            self.amend(pk, self.index[day], s, "/", "L",
                       "Signed in late at the office after the register was taken",
                       self.office, Role.OFFICE, at, None, minutes)
            self.rows[k] = (pk, day, s, code, minutes, self.office.pk, at)


def _minutes_between(a: time, b: time) -> int:
    return (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)


# --- all demo schools ---------------------------------------------------------------------


@dataclass
class SeedResult:
    created: list = field(default_factory=list)     # PopulateResult per new school
    existing: list = field(default_factory=list)    # schema names left as they were
    seconds: float = 0.0


def demo_schools() -> list[School]:
    return list(School.objects.filter(schema_name__in=[s.schema for s in SCHOOLS]))


def demo_reset() -> None:
    """Drop the demo schools (their schemas go with them), their people and the trust."""
    connection.set_schema_to_public()
    for school in demo_schools():
        school.delete()
    prefixes = {s.key for s in SCHOOLS} | {s.la[0] for s in SCHOOLS} | {"lap"}
    ids = [pk for prefix in prefixes for pk in
           User.objects.filter(username__startswith=f"{prefix}.").values_list("pk", flat=True)]
    _users_delete(ids)
    Trust.objects.filter(slug=TRUST_SLUG, schools__isnull=True).delete()


@transaction.atomic
def _users_delete(ids: list[int]) -> None:
    """Delete people by id touching only public tables.

    ``User.delete()`` would also collect rows in tenant tables (class teachers, contacts,
    marks), which do not exist in the public schema; the demo schemas are already dropped.
    """
    from django.contrib.admin.models import LogEntry

    for model in (Membership, TrustMembership, User.groups.through, User.user_permissions.through,
                  LogEntry):
        model.objects.filter(user_id__in=ids).delete()
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {User._meta.db_table} WHERE id = ANY(%s)", [ids])


def demo_seed(*, pupils: int = 200, seed: int = 1, reset: bool = False, today: date | None = None,
              log=lambda line: None) -> SeedResult:
    """Create whichever demo schools are missing (all of them after ``reset``)."""
    started = clock.monotonic()
    today = today or date.today()
    if reset:
        demo_reset()
        log("Removed the demo schools.")
    public_tenant_ensure(domain="localhost")
    result = SeedResult()
    existing = {s.schema_name for s in demo_schools()}
    password_hash = make_password(DEMO_PASSWORD)
    shared = _shared_family(seed)
    for spec in SCHOOLS:
        if spec.schema in existing:
            result.existing.append(spec.schema)
            continue
        t0 = clock.monotonic()
        family = None
        if spec.key in TWO_SCHOOL_CHILDREN:
            family = (shared, TWO_SCHOOL_PARENT[0], TWO_SCHOOL_CHILDREN[spec.key])
        try:
            with contextlib.redirect_stdout(io.StringIO()):   # schema migration chatter
                school = school_create(schema=spec.schema, name=spec.name, domain=spec.domain,
                                       preset=spec.preset,
                                       trust_slug=TRUST_SLUG if spec.trust else None,
                                       trust_name=TRUST_NAME if spec.trust else None)
            t1 = clock.monotonic()
            populated = school_populate(school=school, pupils=pupils, seed=seed, today=today,
                                        spec=spec, password_hash=password_hash, shared_family=family)
        except Exception:
            # Leave no half-built school behind: a rerun would take it as done.
            connection.set_schema_to_public()
            for half_built in School.objects.filter(schema_name=spec.schema):
                half_built.delete()
            raise
        result.created.append(populated)
        nights = demo_nights_run(school=school, today=today)
        log(f"{spec.name}: {nights} nightly runs for escalation history")
        log(f"{spec.name}: schema {t1 - t0:.1f} s, data {clock.monotonic() - t1:.1f} s "
            f"({populated.pupils} pupils, {populated.marks:,} marks, "
            f"{populated.amendments} amendments)")
    trust = Trust.objects.filter(slug=TRUST_SLUG).first()
    if trust:
        username, person = TRUST_DIRECTOR
        person_grant(username=username, role=Role.TRUST_DIRECTOR, trust=trust, first_name=person.first,
                     last_name=person.last, email=_staff_email(person, "lap"))
        User.objects.filter(username=username).update(password=password_hash)
    result.seconds = clock.monotonic() - started
    return result


def demo_nights_run(*, school: School, today: date) -> int:
    """Run the nightly job as it would have run: each Friday of term so far, then last night.

    Gives the demo snapshot history (trends, arrows, band moves) and cases at several stages.
    """
    from django_tenants.utils import schema_context

    from escalation.nightly import night_run
    from registers.models import SchoolDay

    with schema_context(school.schema_name):
        days = list(SchoolDay.objects.filter(closed=False, date__lt=today)
                    .values_list("date", flat=True).order_by("date"))
        nights = [d for d in days if d.weekday() == 4] + days[-1:]
        for night in sorted(set(nights)):
            night_run(as_of=night)
    return len(set(nights))


def _shared_family(seed: int) -> _Family:
    """The family with a child in each LAP academy: same parent details in both schools."""
    rng = random.Random(f"demo:{seed}:lap-shared")
    spec = SCHOOLS_BY_KEY["riverside"]
    names = _Names(spec, rng)
    username, person = TWO_SCHOOL_PARENT
    address = names.address()
    mother = _Contact(title=person.title, forename=person.first, surname=person.last,
                      relationship="Mother", address=address, mobile=names.mobile(),
                      email=f"{person.first}.{person.last}@example.com".lower())
    father = names.adult("british", "M", person.last, "Father", address)
    return _Family(heritage="british", surname=person.last, address=address,
                   contacts=[mother, father], correspondence=0)


# --- summary ------------------------------------------------------------------------------

SUMMARY_ROLES = [("office", Role.OFFICE), ("head", Role.HEAD), ("attendance", Role.ATTENDANCE_OFFICER),
                 ("teacher", Role.TEACHER), ("governor", Role.GOVERNOR), ("la", Role.LA_OFFICER),
                 ("parent", Role.PARENT)]


# Complexity: prints one optional line per demo school feature.
def demo_summary(*, port: int = 8000) -> list[str]:  # noqa: C901
    """Lines describing each demo school: its address, figures and one login per role."""
    lines = []
    schools = {s.schema_name: s for s in demo_schools()}
    for spec in SCHOOLS:
        school = schools.get(spec.schema)
        if school is None:
            continue
        with schema_context(school.schema_name):
            n_pupils = Pupil.objects.count()
            n_marks = Mark.objects.count()
            last = Mark.objects.order_by("-date").values_list("date", flat=True).first()
            n_classes = RegistrationGroup.objects.count()
        members = (Membership.objects.filter(school=school).select_related("user")
                   .order_by("user__username"))
        by_role: dict[str, list[User]] = {}
        for m in members:
            by_role.setdefault(m.role, []).append(m.user)
        lines.append("")
        lines.append(f"{school.name}  http://{spec.domain}:{port}/")
        trust = f", trust: {school.trust.name}" if school.trust_id else ""
        lines.append(f"  {n_pupils} pupils in {n_classes} classes, {n_marks:,} marks"
                     f"{f' to {last:%a %-d %b %Y}' if last else ''}{trust}")
        for label, role in SUMMARY_ROLES:
            users = by_role.get(role, [])
            preferred = [u for u in users if u.username in (f"{spec.key}.{label}", f"{spec.key}.parent1")]
            if not users:
                continue
            user = (preferred or users)[0]
            extra = ""
            if role == Role.TEACHER:
                extra = f" ({len(users)} teachers, one per class)"
            elif role == Role.PARENT:
                extra = f" ({len(users)} parent logins)"
            elif role == Role.HEAD and len(users) > 1:
                extra = "; also " + ", ".join(f"{u.username} ({u.get_full_name()})"
                                              for u in users if u != user)
            lines.append(f"  {role.label:<42} {user.username:<30} {user.get_full_name()}{extra}")
    director = User.objects.filter(username=TRUST_DIRECTOR[0]).first()
    parent = User.objects.filter(username=TWO_SCHOOL_PARENT[0]).first()
    if director or parent:
        lines.append("")
        lines.append(f"{TRUST_NAME} (trust)")
    if director:
        lines.append(f"  {'Trust director (both LAP academies)':<42} {director.username:<30} "
                     f"{director.get_full_name()}")
    if parent:
        places = ", ".join(f"http://{SCHOOLS_BY_KEY[k].domain}:{port}/" for k in TWO_SCHOOL_CHILDREN)
        lines.append(f"  {'Parent with a child in each academy':<42} {parent.username:<30} "
                     f"{parent.get_full_name()} ({places})")
    lines.append("")
    lines.append(f"Password for every demo login: {DEMO_PASSWORD}")
    return lines
