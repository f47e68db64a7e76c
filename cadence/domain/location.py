"""A lead's time zone and country, from what Marketo knows of them. Pure: no clock, no
database, no network (the zone data is the `tzdata` package's, the phone data the
`phonenumbers` package's, so the answer depends on the pinned packages, not on the machine).

The order, first answer wins (docs/playbooks.md, "The lead's time zone and country"):

* country: a rep's override; the lead's country (free text as Marketo keeps it: "USA",
  "Deutschland", "UK", "DE"...); the country its state names ("Ontario"); the country of its
  phone number (or mobile), written with its country code; its inferred country (from its
  first web visit); the country of the zone found below.
* zone: a rep's override; the lead's state or province where it names one zone ("NY",
  "Queensland"); its country where the country keeps one clock (Germany, France, Japan,
  India...); its phone number (or mobile) where that gives exactly one zone, or one within
  the country; its inferred state or country, by the same rules, unless it contradicts the
  country. Beyond that, an enrollment takes its owner's zone, then the playbook's, then UTC
  (workflows/calendar.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from importlib.resources import files
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezone

from cadence.domain.location_data import COUNTRY_ALIASES, PRINCIPAL_ZONES, REGIONS
from cadence.domain.text import brief, closest, one_of


class Source(StrEnum):
    """Where a person's zone or country came from."""

    override = "override"  # set by a rep or an admin (PATCH /people/{id})
    state = "state"  # the lead's state, province or region
    country = "country"  # the lead's country
    phone = "phone"  # the lead's phone or mobile number
    inferred = "inferred"  # Marketo's inferred location (reverse IP of the first web visit)
    zone = "zone"  # country only: the country of the lead's zone


@dataclass(frozen=True)
class LeadLocation:
    """What Marketo has: free text, as people typed it."""

    country: str | None = None
    state: str | None = None
    city: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    inferred_country: str | None = None
    inferred_state: str | None = None
    inferred_city: str | None = None


@dataclass(frozen=True)
class Derived:
    timezone: str | None = None
    timezone_source: Source | None = None
    country: str | None = None
    country_source: Source | None = None


# ------------------------------------------------------------------ the tzdata package


def _tzdata(*parts: str) -> str:
    return files("tzdata").joinpath(*parts).read_text(encoding="utf-8")


def _table(name: str) -> list[list[str]]:
    lines = _tzdata("zoneinfo", name).splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


COUNTRY_NAMES: dict[str, str] = {row[0]: row[1] for row in _table("iso3166.tab")}
COUNTRY_ZONES: dict[str, tuple[str, ...]] = {}
ZONE_COUNTRY: dict[str, str] = {}
for _row in _table("zone.tab"):
    COUNTRY_ZONES[_row[0]] = (*COUNTRY_ZONES.get(_row[0], ()), _row[2])
    ZONE_COUNTRY[_row[2]] = _row[0]
ZONES: dict[str, str] = {z.lower(): z for z in _tzdata("zones").split()}  # lower -> name
LINKS: dict[str, str] = {  # an old or alias name -> the zone it names ("L target link")
    parts[2]: parts[1]
    for parts in (line.split() for line in _tzdata("zoneinfo", "tzdata.zi").splitlines())
    if len(parts) == 3 and parts[0] == "L"
}


def zone_name(value: str) -> str | None:
    """The IANA name ``value`` spells, in its own case ("europe/berlin": "Europe/Berlin");
    None when it is no zone."""
    return ZONES.get(value.strip().lower()) if value else None


def zone_problem(name: str) -> str | None:
    """Why ``name`` is not an IANA time zone, with the zone it most likely misspells; None
    when it is one, in its own spelling."""
    if zone_name(name) == name.strip():
        return None
    spelt = zone_name(name)
    meant = [spelt] if spelt else closest(name, set(ZONES.values()))
    hint = (
        f"did you mean {one_of([repr(m) for m in meant])}?"
        if meant
        else "use an IANA name such as Europe/Berlin"
    )
    return f"unknown time zone {brief(name)}; {hint}"


def canonical_zone(name: str) -> str:
    return LINKS.get(name, name)


def is_country(code: str) -> bool:
    """An ISO 3166-1 alpha-2 code (upper case) that names a country or territory."""
    return code in COUNTRY_NAMES


def country_of_zone(zone: str | None) -> str | None:
    """The country a zone belongs to ("Europe/Berlin": DE); None for UTC, Etc/* and the like."""
    if not zone:
        return None
    return ZONE_COUNTRY.get(zone) or ZONE_COUNTRY.get(canonical_zone(zone))


# ------------------------------------------------------------------ countries


def _key(text: str) -> str:
    """Text compared without case, accents, dots, apostrophes or a leading "the"."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    plain = re.sub(r"[.'’`]", "", plain)
    plain = re.sub(r"[\s,/_()&-]+", " ", plain.replace("&", " and ")).strip()
    return plain.removeprefix("the ")


def _country_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for code, name in COUNTRY_NAMES.items():
        keys[_key(name)] = code
        bare = re.sub(r"\s*\(.*\)", "", name)  # "Korea (South)" -> "Korea": only if unique
        if sum(re.sub(r"\s*\(.*\)", "", n) == bare for n in COUNTRY_NAMES.values()) == 1:
            keys.setdefault(_key(bare), code)
        keys[_key(name.replace("St ", "Saint "))] = code
    keys.update({_key(alias): code for alias, code in COUNTRY_ALIASES.items()})
    return keys


_COUNTRY_KEYS = _country_keys()


@lru_cache(maxsize=4096)
def normalize_country(text: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code for a country as people write it ("United States", "USA",
    "us", "Deutschland", "UK", "Korea (South)"); None when it names none."""
    if not text or not text.strip():
        return None
    stripped = text.strip()
    if len(stripped) == 2 and stripped.isalpha() and is_country(stripped.upper()):
        return stripped.upper()
    return _COUNTRY_KEYS.get(_key(stripped))


# ------------------------------------------------------------------ regions


def _region_keys() -> dict[str, dict[str, str | None]]:
    keys: dict[str, dict[str, str | None]] = {}
    for country, rows in REGIONS.items():
        for zone, names in rows:
            for name in names:
                keys.setdefault(_key(name), {})[country] = zone
    return keys


_REGION_KEYS = _region_keys()
_ISO_REGION = re.compile(r"^([A-Za-z]{2})-([A-Za-z0-9]{1,3})$")  # ISO 3166-2: "US-NY"


@lru_cache(maxsize=4096)
def _region(text: str | None) -> tuple[str | None, str]:
    """(the country an ISO 3166-2 code names, the region's key)."""
    if not text:
        return None, ""
    matched = _ISO_REGION.match(text.strip())
    if matched and is_country(matched[1].upper()):
        return matched[1].upper(), _key(matched[2])
    return None, _key(text)


def country_of_region(text: str | None) -> str | None:
    """The country a state or province names when only one has it ("Ontario": CA;
    "WA" is Washington and Western Australia: None)."""
    prefix, key = _region(text)
    if prefix:
        return prefix
    countries = _REGION_KEYS.get(key, {})
    return next(iter(countries)) if len(countries) == 1 else None


def zone_of_region(country: str, text: str | None) -> str | None:
    """The zone a state or province of ``country`` names, when it keeps one clock."""
    prefix, key = _region(text)
    if prefix and prefix != country:
        return None
    return _REGION_KEYS.get(key, {}).get(country)


# ------------------------------------------------------------------ countries' zones

# The clocks compared to tell whether a country's zones keep one time: every six hours over
# five fixed years (fixed, so the answer does not move with the date it is asked on).
_SAMPLES = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=6 * i) for i in range(7305)]


@cache
def _offsets(zone: str) -> tuple[timedelta | None, ...]:
    path = files("tzdata").joinpath("zoneinfo", *zone.split("/"))
    with path.open("rb") as data:
        info = ZoneInfo.from_file(data, key=zone)
    return tuple(moment.astimezone(info).utcoffset() for moment in _SAMPLES)


@cache
def country_zone(country: str) -> str | None:
    """The zone of a country that keeps one clock (Germany: Europe/Berlin, Busingen keeps
    the same time; Argentina: America/Argentina/Buenos_Aires); None when its zones differ
    (the US, Canada, Russia, Brazil...)."""
    if country in PRINCIPAL_ZONES:
        return PRINCIPAL_ZONES[country]
    zones = COUNTRY_ZONES.get(country, ())
    if not zones:
        return None
    first = _offsets(zones[0])
    return zones[0] if all(_offsets(z) == first for z in zones[1:]) else None


# ------------------------------------------------------------------ phone numbers


def _parse_phone(number: str | None, country: str | None) -> phonenumbers.PhoneNumber | None:
    if not number or not number.strip():
        return None
    text = number.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        return _parse(text, None)
    return _parse(text, country) if country else None  # a national number needs its country


@lru_cache(maxsize=1024)  # a lead's number is read for its country, then for its zone
def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def phone_country(number: str | None) -> str | None:
    """The country of a number written with its country code ("+44 20 7946 0000": GB)."""
    parsed = _parse_phone(number, None)
    region = phonenumbers.region_code_for_number(parsed) if parsed else None
    return region if region and is_country(region) else None


def phone_zones(number: str | None, country: str | None) -> list[str]:
    """The zones a number may be in (its area code's), within ``country`` when known."""
    parsed = _parse_phone(number, country)
    if parsed is None:
        return []
    zones = {canonical_zone(z) for z in phone_timezone.time_zones_for_number(parsed)}
    zones.discard("Etc/Unknown")
    if country:
        zones &= {canonical_zone(z) for z in COUNTRY_ZONES.get(country, ())}
    return sorted(zones)


# ------------------------------------------------------------------ the lead


def _country(loc: LeadLocation) -> tuple[str | None, Source | None]:
    for find, source in (  # in order, each looked at only when those before found nothing
        (lambda: normalize_country(loc.country), Source.country),
        (lambda: country_of_region(loc.state), Source.state),
        (lambda: phone_country(loc.phone) or phone_country(loc.mobile_phone), Source.phone),
        (lambda: normalize_country(loc.inferred_country), Source.inferred),
    ):
        found = find()
        if found:
            return found, source
    return None, None


def _place_zone(country: str, place_country: str | None, state: str | None) -> Derived:
    """The zone of ``country``'s state (when the place is in that country), else of the
    country itself."""
    if place_country in (None, country):
        zone = zone_of_region(country, state)
        if zone:
            return Derived(zone, Source.state)
    zone = country_zone(country)
    return Derived(zone, Source.country) if zone else Derived()


def _zone(loc: LeadLocation, country: str | None, country_source: Source | None) -> Derived:
    if country and country_source in (Source.override, Source.country, Source.state):
        address_country = normalize_country(loc.country) or country_of_region(loc.state)
        found = _place_zone(country, address_country, loc.state)
        if found.timezone:
            return found
    for number in (loc.phone, loc.mobile_phone):
        zones = phone_zones(number, country)
        if len(zones) == 1:
            return Derived(zones[0], Source.phone)
    inferred = normalize_country(loc.inferred_country) or country_of_region(loc.inferred_state)
    if inferred and country in (None, inferred):
        found = _place_zone(inferred, inferred, loc.inferred_state)
        if found.timezone:
            return Derived(found.timezone, Source.inferred)
    return Derived()


def derive(
    loc: LeadLocation, timezone_override: str | None = None, country_override: str | None = None
) -> Derived:
    """The lead's zone and country in use, and where each came from."""
    country, country_source = _country(loc)
    if country_override:
        country, country_source = country_override, Source.override
    if timezone_override:
        zone: Derived = Derived(timezone_override, Source.override)
    else:
        zone = _zone(loc, country, country_source)
    if country is None and zone.timezone:
        country = country_of_zone(zone.timezone)
        country_source = Source.zone if country else None
    return Derived(zone.timezone, zone.timezone_source, country, country_source)
