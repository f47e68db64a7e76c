"""The sending calendar: named cases (DST, holidays, 29 February, weekends, late starts) and
properties over random playbooks, start instants, zones and countries. The oracle here is
written independently of workflows/calendar.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.domain.playbook import Playbook
from cadence.domain.playbook_yaml import parse_playbook
from cadence.services.enrolling import holiday_dates
from tests.utils.calendar import schedule

ZONES = [
    "UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
    "Asia/Kolkata", "Australia/Sydney", "Pacific/Auckland",
]  # fmt: skip
COUNTRIES = [None, "DE", "US", "GB", "FR", "IN", "AU"]


def book(steps: list[dict[str, object]], **settings_: object) -> Playbook:
    return parse_playbook(yaml.safe_dump({"name": "t", "settings": settings_, "steps": steps}))


def email(step_id: str, day: int, send_at: str | None = None) -> dict[str, object]:
    step: dict[str, object] = {"id": step_id, "day": day, "type": "auto_email",
                               "subject": "s", "body": "b"}  # fmt: skip
    if send_at is not None:
        step["send_at"] = send_at
    return step


OPEN = {
    "skip_weekends": False,
    "holidays": "off",
    "send_window": {"start": "00:00", "end": "23:59"},
}


def local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


# ---------------------------------------------------------------------------- named cases


def test_a_time_skipped_by_spring_forward_moves_forward_by_the_gap() -> None:
    berlin = schedule(book([email("a", 1, "02:30")], **OPEN),
                      datetime(2026, 3, 29, 0, 5, tzinfo=ZoneInfo("Europe/Berlin")),
                      "Europe/Berlin")  # fmt: skip
    assert local(berlin[0], "Europe/Berlin").isoformat() == "2026-03-29T03:30:00+02:00"
    new_york = schedule(book([email("a", 1, "02:30")], **OPEN),
                        datetime(2026, 3, 8, 0, 5, tzinfo=ZoneInfo("America/New_York")),
                        "America/New_York")  # fmt: skip
    assert local(new_york[0], "America/New_York").isoformat() == "2026-03-08T03:30:00-04:00"


def test_a_time_that_happens_twice_at_fall_back_is_the_earlier_one() -> None:
    berlin = schedule(book([email("a", 1, "02:30")], **OPEN),
                      datetime(2026, 10, 25, 0, 5, tzinfo=ZoneInfo("Europe/Berlin")),
                      "Europe/Berlin")  # fmt: skip
    assert berlin[0].astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # CEST, not CET
    new_york = schedule(book([email("a", 1, "01:30")], **OPEN),
                        datetime(2026, 11, 1, 0, 5, tzinfo=ZoneInfo("America/New_York")),
                        "America/New_York")  # fmt: skip
    assert new_york[0].astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # EDT, not EST


def test_nine_oclock_stays_nine_oclock_across_a_dst_change() -> None:
    playbook = book([email("a", 1, "09:00"), email("b", 2, "09:00")], holidays="off")
    start = datetime(2026, 3, 27, 7, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # Friday
    dues = [local(d, "Europe/Berlin") for d in schedule(playbook, start, "Europe/Berlin")]
    assert [d.isoformat() for d in dues] == [
        "2026-03-27T09:00:00+01:00",
        "2026-03-30T09:00:00+02:00",  # Monday, after the change
    ]


def test_year_end_holidays_and_blackouts_are_not_days() -> None:
    playbook = book(
        [email("a", 1, "10:00"), email("b", 2, "10:00"), email("c", 3, "10:00")],
        holidays="lead_country",
        blackout_dates=["2026-12-24", "2026-12-31"],
    )
    start = datetime(2026, 12, 23, 8, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # Wednesday
    dues = [
        local(d, "Europe/Berlin").date() for d in schedule(playbook, start, "Europe/Berlin", "DE")
    ]
    # 24 blacked out, 25/26 holidays, 27 Sunday; 28-30 Mon-Wed; 31 blacked out, 1 Jan holiday.
    assert dues == [date(2026, 12, 23), date(2026, 12, 28), date(2026, 12, 29)]
    late = schedule(
        book([email("a", 1, "10:00"), email("b", 2, "10:00")], holidays="lead_country",
             blackout_dates=["2026-12-31"]),
        datetime(2026, 12, 30, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")), "Europe/Berlin", "DE",
    )  # fmt: skip
    assert [local(d, "Europe/Berlin").date() for d in late] == [
        date(2026, 12, 30),
        date(2027, 1, 4),
    ]


def test_new_years_eve_in_america_is_already_next_year_in_utc() -> None:
    """An enrollment starts at 19:30 on Friday 31 December 2027 in New York, when the UTC date
    (from which the holidays are looked up) is already 1 January 2028. That Friday is the
    observed New Year's Day (1 January is a Saturday): not Day 1."""
    playbook = book([email("a", 1, "10:00"), email("b", 2, "10:00")], holidays="lead_country",
                    skip_weekends=False)  # fmt: skip
    start = datetime(2028, 1, 1, 0, 30, tzinfo=UTC)
    assert date(2027, 12, 31) in holiday_dates(playbook, "US", start.date())
    dues = [
        local(d, "America/New_York") for d in schedule(playbook, start, "America/New_York", "US")
    ]
    # 31 December observed and 1 January: holidays; Sunday 2 January is Day 1.
    assert [d.date() for d in dues] == [date(2028, 1, 2), date(2028, 1, 3)]


def test_29_february_is_an_ordinary_sending_day() -> None:
    playbook = book([email("a", 1, "09:00"), email("b", 2, "09:00"), email("c", 3, "09:00")],
                    holidays="off")  # fmt: skip
    start = datetime(2028, 2, 28, 6, 0, tzinfo=ZoneInfo("America/New_York"))  # Monday
    dues = [
        local(d, "America/New_York").date() for d in schedule(playbook, start, "America/New_York")
    ]
    assert dues == [date(2028, 2, 28), date(2028, 2, 29), date(2028, 3, 1)]


def test_a_start_on_saturday_makes_monday_day_one() -> None:
    playbook = book([email("a", 1, "immediately"), email("b", 3)], holidays="off")
    start = datetime(2026, 11, 28, 11, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # Saturday
    dues = [
        local(d, "Europe/Berlin").isoformat() for d in schedule(playbook, start, "Europe/Berlin")
    ]
    assert dues == ["2026-11-30T08:00:00+01:00", "2026-12-02T09:00:00+01:00"]


def test_a_start_after_the_window_closed_waits_for_the_next_opening() -> None:
    playbook = book([email("a", 1, "immediately"), email("b", 2, "same_as_previous")],
                    holidays="off")  # fmt: skip
    start = datetime(2026, 11, 24, 19, 0, tzinfo=ZoneInfo("America/Los_Angeles"))  # Tue 19:00
    dues = [local(d, "America/Los_Angeles").isoformat()
            for d in schedule(playbook, start, "America/Los_Angeles")]  # fmt: skip
    # Day 1 is Tuesday, but its window has closed: the email goes at Wednesday's opening,
    # and Day 2 (Wednesday) is then already taken, so the follow-up goes at the same time.
    assert dues == ["2026-11-25T08:00:00-08:00", "2026-11-25T08:00:00-08:00"]


# ---------------------------------------------------------------------------- properties


def _clock() -> st.SearchStrategy[str]:
    return st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@st.composite
def playbooks(draw: st.DrawFn) -> Playbook:
    start_h = draw(st.integers(0, 20))
    end_h = draw(st.integers(start_h + 1, 23))
    count = draw(st.integers(1, 6))
    steps, day = [], 1
    for index in range(count):
        day += draw(st.integers(0, 4)) if index else 0
        choices = [st.none(), st.just("immediately"), _clock()]
        if index:
            choices.append(st.just("same_as_previous"))
        steps.append(email(f"s{index}", day, draw(st.one_of(*choices))))
    blackout = draw(st.lists(st.dates(date(2026, 1, 1), date(2029, 3, 1)), max_size=5))
    return book(
        steps,
        skip_weekends=draw(st.booleans()),
        holidays=draw(st.sampled_from(["lead_country", "off", "DE", "US"])),
        blackout_dates=[d.isoformat() for d in blackout],
        send_window={"start": f"{start_h:02d}:{draw(st.integers(0, 59)):02d}",
                     "end": f"{end_h:02d}:{draw(st.integers(0, 59)):02d}"},
        default_send_time=draw(_clock()),
    )  # fmt: skip


def wall_time_exists(day: date, clock: time, tz: str) -> bool:
    wall = datetime.combine(day, clock, ZoneInfo(tz))
    return wall.astimezone(UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None) == wall.replace(
        tzinfo=None
    )


def oracle_sending_day(playbook: Playbook, country: str | None, day: date) -> bool:
    s = playbook.settings
    if s.skip_weekends and day.weekday() >= 5:
        return False
    if day in s.blackout_dates:
        return False
    code = (
        country if s.holidays == "lead_country" else (None if s.holidays == "off" else s.holidays)
    )
    return not (code and day in holidays_lib.country_holidays(code, years=day.year))


def oracle_day_n(playbook: Playbook, country: str | None, start_day: date, n: int) -> date:
    day, found = start_day, 0
    while True:
        if oracle_sending_day(playbook, country, day):
            found += 1
            if found == n:
                return day
        day += timedelta(days=1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    playbook=playbooks(),
    start=st.datetimes(datetime(2026, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
    tz=st.sampled_from(ZONES),
    country=st.sampled_from(COUNTRIES),
)
def test_sends_fall_on_sending_days_inside_the_window_in_order(
    playbook: Playbook, start: datetime, tz: str, country: str | None
) -> None:
    dues = schedule(playbook, start, tz, country)
    window = playbook.settings.send_window
    start_day = local(start, tz).date()
    for index, (step, due) in enumerate(zip(playbook.steps, dues, strict=True)):
        here = local(due, tz)
        assert oracle_sending_day(playbook, country, here.date()), (step.id, here)
        wall = here.time().replace(tzinfo=None)
        if wall_time_exists(here.date(), window.start, tz):
            assert window.start <= wall < window.end, (step.id, here)
        else:  # the opening itself fell into a spring-forward gap and moved forward
            assert wall >= window.start, (step.id, here)
        assert due >= start
        if index:
            assert due >= dues[index - 1], "times go backwards"
        assert here.date() >= oracle_day_n(playbook, country, start_day, step.day), (step.id, here)


@settings(max_examples=100, deadline=None)
@given(
    start=st.datetimes(datetime(2026, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
    tz=st.sampled_from(ZONES),
    gaps=st.lists(st.integers(0, 5), min_size=1, max_size=5),
    clock=st.integers(9, 16),
)
def test_day_n_is_the_right_sending_day(
    start: datetime, tz: str, gaps: list[int], clock: int
) -> None:
    """Steps at a fixed time inside the window land exactly on their Day N at that time."""
    days = [1]
    for gap in gaps:
        days.append(days[-1] + gap)
    playbook = book([email(f"s{i}", d, f"{clock:02d}:00") for i, d in enumerate(days)],
                    holidays="off")  # fmt: skip
    # Start before the window opens on the start day so Day 1 is that day (if a weekday).
    start_local = local(start, tz).replace(hour=6, minute=0)
    dues = schedule(playbook, start_local, tz)
    for step, due in zip(playbook.steps, dues, strict=True):
        want_day = oracle_day_n(playbook, None, start_local.date(), step.day)
        assert local(due, tz).date() == want_day
        assert local(due, tz).time() == time(clock, 0)
