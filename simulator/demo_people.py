"""Names, schools and the small random helpers the demo generator draws from."""

from __future__ import annotations

import random
from bisect import bisect
from datetime import date, datetime, timedelta


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Oliver George Harry Noah Jack Leo Arthur Muhammad Oscar Charlie Jacob Thomas Henry William Freddie "
    "Alfie Theo Archie Joshua James Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie "
    "Sophia Isabella Grace Daisy Sienna Poppy Elsie Emily Ella Evelyn Phoebe Sofia Evie Charlotte Harper "
    "Aisha Zara Priya Ravi Chloe Ruby Jessica Ethan Mason Lucas Samuel Daniel Amara Kofi Niamh Siobhan "
    "Ewan Callum Ffion Rhys Eilidh Mateo Chen Wei Yusuf Fatima Hannah Matilda Lachlan Cooper Harrison Zoe"
)
LAST_NAMES = _words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson "
    "Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin "
    "Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson "
    "Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell "
    "Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Ali Hussain "
    "Nguyen Chen Kaur O'Brien MacDonald Campbell Stewart Fraser Reid Murray Kennedy Pearson Holmes Lloyd "
    "Barker"
)
UK_TOWNS = _words(
    "Ashford Bromley Canterbury Derby Exeter Farnham Guildford Harrogate Ipswich Kendal Lancaster "
    "Maidstone Norwich Oxford Preston Reading Salisbury Taunton Warwick York Bath Bolton Cardiff Dundee "
    "Durham Epsom Frome Gloucester Hereford Hexham Leeds Lincoln Luton Margate Newport Penrith Ripon "
    "Stafford Stirling Truro Wakefield Wells Whitby Woking Worthing Yeovil Chester Carlisle Bedford "
    "Bristol"
)
AU_TOWNS = _words(
    "Ballarat Bendigo Cairns Geelong Hobart Mildura Newcastle Perth Toowoomba Wollongong Darwin Albury"
)
SCHOOL_KINDS = ("Academy", "High School", "Grammar School", "College", "Community School", "School",
                "Sixth Form College", "Secondary College")
PERSONAL_DOMAINS = ("gmail.com", "hotmail.co.uk", "outlook.com", "icloud.com", "yahoo.co.uk")


def slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def mixed_case(address: str) -> str:
    """`jane.doe@x.org` → `Jane.Doe@X.org`: what a person typing an address produces."""
    local, _, domain = address.partition("@")
    head = ".".join(part[:1].upper() + part[1:] for part in local.split("."))
    return f"{head}@{domain[:1].upper()}{domain[1:]}"


def html_wrapped(address: str) -> str:
    return f'<a href="mailto:{address}">{address}</a>'


class DayPicker:
    """Draws school days in a window, weekends ten times rarer, and a time of day (mostly school hours)."""

    def __init__(self, first: date, last: date):
        self.days: list[date] = []
        self.cumulative: list[float] = []
        total = 0.0
        day = first
        while day <= last:
            total += 1.0 if day.weekday() < 5 else 0.1
            self.days.append(day)
            self.cumulative.append(total)
            day += timedelta(days=1)
        self.total = total

    def pick(self, rng: random.Random, not_before: date | None = None) -> datetime | None:
        if not self.days:
            return None
        lowest = 0.0
        if not_before is not None:
            if not_before > self.days[-1]:
                return None
            if not_before > self.days[0]:
                lowest = self.cumulative[(not_before - self.days[0]).days - 1]
        day = self.days[min(bisect(self.cumulative, lowest + rng.random() * (self.total - lowest)),
                            len(self.days) - 1)]
        return school_time(rng, day)


def school_time(rng: random.Random, day: date) -> datetime:
    in_school = rng.random() < 0.8
    minute = 8 * 60 + 30 + rng.randrange(8 * 60) if in_school else 17 * 60 + rng.randrange(5 * 60)
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, rng.randrange(60))
