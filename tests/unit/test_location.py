"""A lead's time zone and country from what Marketo knows (cadence/location.py): named cases,
the tables checked against the zone data, and properties over any input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadence.domain.location import (
    COUNTRY_NAMES,
    COUNTRY_ZONES,
    LeadLocation,
    Source,
    canonical_zone,
    country_of_region,
    country_of_zone,
    country_zone,
    derive,
    normalize_country,
    phone_zones,
    zone_name,
)
from cadence.domain.location_data import REGIONS

S = Source
# (what Marketo has, overrides) -> (zone, its source, country, its source)
CASES: list[tuple[str, dict[str, Any], tuple[str | None, S | None, str | None, S | None]]] = [
    ("a US state names its zone", {"country": "United States", "state": "NY"},
     ("America/New_York", S.state, "US", S.country)),
    ("state names, any case", {"country": "usa", "state": "california"},
     ("America/Los_Angeles", S.state, "US", S.country)),
    ("an ISO 3166-2 state", {"country": "US", "state": "US-TX"},
     ("America/Chicago", S.state, "US", S.country)),
    ("a country of one clock", {"country": "Deutschland", "city": "München"},
     ("Europe/Berlin", S.country, "DE", S.country)),
    ("one clock, several zones in tzdata", {"country": "Argentina"},
     ("America/Argentina/Buenos_Aires", S.country, "AR", S.country)),
    ("UK is GB", {"country": "UK"}, ("Europe/London", S.country, "GB", S.country)),
    ("India", {"country": "India"}, ("Asia/Kolkata", S.country, "IN", S.country)),
    ("the state alone names the country", {"state": "Ontario"},
     ("America/Toronto", S.state, "CA", S.state)),
    ("Québec with its accent", {"country": "Canada", "state": "Québec"},
     ("America/Toronto", S.state, "CA", S.country)),
    ("an Australian state", {"country": "Australia", "state": "QLD"},
     ("Australia/Brisbane", S.state, "AU", S.country)),
    ("a Brazilian state", {"country": "Brasil", "state": "Amazonas"},
     ("America/Manaus", S.state, "BR", S.country)),
    ("a Mexican state", {"country": "México", "state": "Quintana Roo"},
     ("America/Cancun", S.state, "MX", S.country)),
    ("the Canaries keep their own clock", {"country": "Spain", "state": "Islas Canarias"},
     ("Atlantic/Canary", S.state, "ES", S.country)),
    ("a split state: the phone decides", {"country": "US", "state": "Tennessee",
                                          "phone": "+1 (615) 555-0100"},
     ("America/Chicago", S.phone, "US", S.country)),
    ("a split state without a phone: no zone", {"country": "US", "state": "Tennessee"},
     (None, None, "US", S.country)),
    ("a country of many zones: the phone", {"country": "USA", "phone": "212-555-0100"},
     ("America/New_York", S.phone, "US", S.country)),
    ("the mobile when the phone says nothing", {"country": "US", "phone": "800-555-0100",
                                                "mobile_phone": "+1 312 555 0100"},
     ("America/Chicago", S.phone, "US", S.country)),
    ("a phone of several zones within the country", {"country": "US",
                                                     "phone": "+1 907 555 0100"},
     (None, None, "US", S.country)),
    ("no country: the phone gives both", {"phone": "+49 30 1234567"},
     ("Europe/Berlin", S.phone, "DE", S.phone)),
    ("a national number without a country says nothing", {"phone": "030 1234567"},
     (None, None, None, None)),
    ("00 as the international prefix", {"phone": "0044 20 7946 0000"},
     ("Europe/London", S.phone, "GB", S.phone)),
    ("a phone from another country is not the lead's zone", {"country": "US",
                                                             "phone": "+49 30 1234567"},
     (None, None, "US", S.country)),
    ("the inferred location last", {"inferred_country": "United States",
                                    "inferred_state": "Illinois"},
     ("America/Chicago", S.inferred, "US", S.inferred)),
    ("the inferred location must agree with the country", {
        "country": "US", "inferred_country": "Japan"}, (None, None, "US", S.country)),
    ("an inferred state of the lead's country", {"country": "US", "inferred_state": "Utah"},
     ("America/Denver", S.inferred, "US", S.country)),
    ("nothing known", {}, (None, None, None, None)),
    ("a country nobody knows", {"country": "Atlantis"}, (None, None, None, None)),
    ("a zone override, the country from the address", {
        "country": "US", "state": "NY", "timezone_override": "America/Chicago"},
     ("America/Chicago", S.override, "US", S.country)),
    ("a zone override alone gives the country", {"timezone_override": "Europe/Berlin"},
     ("Europe/Berlin", S.override, "DE", S.zone)),
    ("a country override gives its zone", {"country": "US", "state": "NY",
                                            "country_override": "FR"},
     ("Europe/Paris", S.country, "FR", S.override)),
    ("a country override of many zones: the address of another country is not used", {
        "country": "France", "country_override": "US", "phone": "+1 415 555 0100"},
     ("America/Los_Angeles", S.phone, "US", S.override)),
]  # fmt: skip


@pytest.mark.parametrize(("case", "given_", "expected"), CASES, ids=[c[0] for c in CASES])
def test_named_cases(case: str, given_: dict[str, Any], expected: tuple[Any, ...]) -> None:
    names = ("timezone_override", "country_override")
    overrides = {k: v for k, v in given_.items() if k in names}
    location = LeadLocation(**{k: v for k, v in given_.items() if k not in names})
    got = derive(location, **overrides)
    assert (got.timezone, got.timezone_source, got.country, got.country_source) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [("United States", "US"), ("U.S.A.", "US"), ("us", "US"), ("America", "US"),
     ("United Kingdom", "GB"), ("Great Britain", "GB"), ("England", "GB"), ("gb", "GB"),
     ("Deutschland", "DE"), ("DEU", "DE"), ("The Netherlands", "NL"), ("Holland", "NL"),
     ("Schweiz", "CH"), ("Österreich", "AT"), ("España", "ES"), ("Korea (South)", "KR"),
     ("South Korea", "KR"), ("Türkiye", "TR"), ("Turkey", "TR"), ("Czechia", "CZ"),
     ("Côte d'Ivoire", "CI"), ("St Kitts & Nevis", "KN"), ("Bosnia and Herzegovina", "BA"),
     ("  japan  ", "JP"), ("UAE", "AE"), ("Viet Nam", "VN"), ("Brasil", "BR"),
     ("", None), ("n/a", None), ("XX", None), ("Narnia", None)],
)  # fmt: skip
def test_countries_as_people_write_them(text: str, code: str | None) -> None:
    assert normalize_country(text) == code


def test_every_iso_code_and_name_is_its_country() -> None:
    for code, name in COUNTRY_NAMES.items():
        assert normalize_country(code) == code
        assert normalize_country(code.lower()) == code
        assert normalize_country(name) == code, name


def test_the_region_tables_name_real_zones_of_their_country() -> None:
    territories = {"PR", "GU", "VI", "AS", "MP"}  # ISO countries of their own, in US tables
    for country, rows in REGIONS.items():
        for zone, names in rows:
            if zone is None:
                continue
            assert zone_name(zone) == zone, zone
            own = country_of_zone(zone)
            assert own == country or (own in territories and names[0] == own), (zone, names)


def test_an_ambiguous_abbreviation_names_no_country() -> None:
    assert country_of_region("WA") is None  # Washington, Western Australia
    assert country_of_region("Western Australia") == "AU"
    assert country_of_region("NT") is None  # Northwest Territories, Northern Territory
    assert country_of_region("CA-QC") == "CA"


def test_countries_that_keep_one_clock_name_their_zone() -> None:
    assert country_zone("DE") == "Europe/Berlin"  # with Busingen, which keeps the same time
    assert country_zone("MY") == "Asia/Kuala_Lumpur"
    assert country_zone("CN") == "Asia/Shanghai"  # a fringe of another clock: the main one
    for many in ("US", "CA", "AU", "BR", "MX", "RU", "ID"):
        assert country_zone(many) is None, many


def test_phone_zones_are_canonical_and_within_the_country() -> None:
    assert phone_zones("+91 98765 43210", None) == ["Asia/Kolkata"]  # Asia/Calcutta there
    assert phone_zones("+1 416 555 0100", "US") == []  # Toronto is in Canada
    assert phone_zones("+1 416 555 0100", "CA") == ["America/Toronto"]
    assert phone_zones("not a number", "US") == []


ZONE_NAMES = sorted({z for zones in COUNTRY_ZONES.values() for z in zones})
text = st.one_of(st.none(), st.text(max_size=30))
places = st.sampled_from(
    [n for rows in REGIONS.values() for _, names in rows for n in names]
    + list(COUNTRY_NAMES.values())
    + ["+1 212 555 0100", "+49 89 123456", "0044 20 7946 0000", "212 555 0100"]
)
field = st.one_of(text, places)


@given(
    location=st.builds(
        LeadLocation, country=field, state=field, city=text, postal_code=text, phone=field,
        mobile_phone=field, inferred_country=field, inferred_state=field, inferred_city=text,
    ),
)  # fmt: skip
def test_any_input_gives_a_real_zone_and_country_or_none(location: LeadLocation) -> None:
    got = derive(location)
    assert got.timezone is None or zone_name(got.timezone) == got.timezone
    assert got.country is None or got.country in COUNTRY_NAMES
    assert (got.timezone is None) == (got.timezone_source is None)
    assert (got.country is None) == (got.country_source is None)
    if got.timezone and got.country and got.timezone_source != Source.override:
        # a derived zone is one of the lead's country's zones
        zones = {canonical_zone(z) for z in COUNTRY_ZONES[got.country]}
        zones |= {zone for zone, _ in REGIONS.get(got.country, []) if zone}  # territories
        assert canonical_zone(got.timezone) in zones


@given(
    location=st.builds(LeadLocation, country=field, state=field, phone=field),
    zone=st.sampled_from(ZONE_NAMES),
    country=st.sampled_from(sorted(COUNTRY_NAMES)),
)
def test_overrides_always_win(location: LeadLocation, zone: str, country: str) -> None:
    got = derive(location, timezone_override=zone, country_override=country)
    assert (got.timezone, got.timezone_source) == (zone, Source.override)
    assert (got.country, got.country_source) == (country, Source.override)
