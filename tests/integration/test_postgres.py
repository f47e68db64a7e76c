"""PostgreSQL works by changing the database URL: the migrations build the schema, and the API,
the email activity and the activity log behave as on SQLite. A throwaway cluster is started
from the PostgreSQL binaries on PATH (initdb, pg_ctl), on a free loopback port."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from cadence.core.auth import create_user
from cadence.core.config import get_settings
from cadence.core.db import get_engine, migrate
from cadence.core.models import (
    ActivityKind,
    ActivityLog,
    Campaign,
    EmailMessage,
    Enrollment,
    EnrollmentStatus,
    Person,
    Role,
)
from cadence.services.activity_log import record_activity
from devstack.sink import serve
from tests.utils.api import unique_person_id
from tests.utils.net import free_port
from worker import main_worker, smtp_worker
from workflows.enrollment import EnrollmentWorkflow

PLAYBOOK = """\
name: On PostgreSQL
settings: {skip_weekends: false, holidays: "off", send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: "Hi {{first_name}}",
     body: "Hello {{first_name}}"}
"""


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; drop to nobody when we are root."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.fail("PostgreSQL binaries (initdb, pg_ctl) are not on PATH")
    # Not under pytest's tmp dir: its parents are private to root, and the server runs as nobody.
    root = Path(tempfile.mkdtemp(prefix="cadence-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "nobody", "nogroup")
        shutil.chown(sockets, "nobody", "nogroup")
    port = free_port()
    subprocess.run(
        _as_postgres_user(
            ["initdb", "-D", str(data), "-U", "cadence", "--auth=trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off"
    subprocess.run(
        _as_postgres_user(["pg_ctl", "-D", str(data), "-o", options, "-w", "-l", str(root / "log"),
                           "start"]),
        check=True,
        capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "cadence", "-d", "postgres", "-c",
         "CREATE DATABASE cadence"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://cadence@127.0.0.1:{port}/cadence"
    finally:
        subprocess.run(
            _as_postgres_user(["pg_ctl", "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_database(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CADENCE_DATABASE_URL", postgres_url)
    get_settings.cache_clear()
    engine = get_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(postgres_url)
    yield postgres_url
    engine.dispose()
    get_settings.cache_clear()


def test_migrations_build_the_whole_schema(pg_database: str) -> None:
    tables = set(inspect(get_engine(pg_database)).get_table_names())
    assert {"user", "person", "campaign", "enrollment", "activitylog", "emailmessage"} <= tables
    migrate(pg_database)  # a second upgrade is a no-op


def test_a_person_is_enrolled_once_per_campaign_unless_the_run_failed(pg_database: str) -> None:
    """Migration 0012's partial unique index, on PostgreSQL."""
    with Session(get_engine(pg_database)) as session:
        user, _ = create_user(session, name="Rep", email="rep@seller.example", role=Role.rep)
        session.add(Person(id=1, email="ada@example.com"))
        campaign = Campaign(name="C")
        session.add(campaign)
        session.commit()
        assert campaign.id is not None and user.id is not None

        def enrollment(attempt: int) -> Enrollment:
            return Enrollment(
                campaign_id=campaign.id or 0, campaign_version=1, person_id=1,
                owner_id=user.id or 0, workflow_id=f"enrollment/1/1/{attempt}",
            )  # fmt: skip

        first = enrollment(1)
        session.add(first)
        session.commit()
        session.add(enrollment(2))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        first.status = EnrollmentStatus.failed
        session.add(first)
        session.commit()
        session.add(enrollment(2))
        session.commit()  # the failed one stays, beside the new one
        assert len(session.exec(select(Enrollment)).all()) == 2


def test_a_time_in_any_zone_is_stored_and_read_back_as_the_instant(pg_database: str) -> None:
    pinned = datetime(2026, 12, 4, 22, 32, 52, tzinfo=ZoneInfo("America/New_York"))
    with Session(get_engine(pg_database)) as session:
        session.connection().execute(text("SET TIME ZONE 'Asia/Tokyo'"))  # no help from it
        person = Person(id=unique_person_id(), email="grace@example.com", updated_at=pinned)
        session.add(person)
        session.flush()
        assert person.id is not None
        record_activity(session, key="pg/times", kind=ActivityKind.call, person_id=person.id,
                        occurred_at=pinned)  # fmt: skip
        session.commit()
        updated = select(Person.updated_at).where(Person.id == person.id)
        stored = [session.exec(select(ActivityLog.occurred_at)).one(), session.exec(updated).one()]
    assert stored == [pinned, pinned]
    assert all(t.utcoffset() == timedelta(0) for t in stored)  # given in UTC, as on SQLite


def test_a_people_sync_keeps_an_override_set_between_syncs_on_postgres(pg_database: str) -> None:
    """The sync reads people FOR UPDATE and writes the zone in use with their overrides."""
    from cadence.services.people import _upsert
    from cadence.services.people_location import set_overrides

    lead = {"id": 7, "email": "ada@example.com", "sfdcLeadOwnerId": "005000000000007AAA",
            "country": "United States", "state": "NY"}  # fmt: skip
    assert _upsert([lead], None).created == 1
    with Session(get_engine(pg_database)) as session:
        user, _ = create_user(session, name="Rep", email="rep@seller.example", role=Role.rep)
        person = session.exec(select(Person).with_for_update()).one()
        assert (person.timezone, person.timezone_source) == ("America/New_York", "state")
        set_overrides(person, {"timezone": "Europe/Dublin"}, user.id or 0, datetime.now(UTC))
        session.add(person)
        session.commit()
    assert _upsert([{**lead, "state": "CA"}], None).updated == 1
    with Session(get_engine(pg_database)) as session:
        person = session.exec(select(Person)).one()
    assert (person.timezone, person.timezone_source, person.address_state) == (
        "Europe/Dublin", "override", "CA")  # fmt: skip
    assert person.location_version == 1  # the override changed the zone in use; the move not


async def test_an_enrollment_runs_end_to_end_on_postgres(
    pg_database: str, dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_port, http_port = free_port(), free_port()
    monkeypatch.setenv("CADENCE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CADENCE_SMTP_PORT", str(smtp_port))
    get_settings.cache_clear()
    sink = asyncio.create_task(serve(tmp_path / "mail", smtp_port, http_port))
    with Session(get_engine()) as session:
        _, token = create_user(session, name="Admin", email="admin@seller.example", role=Role.admin)
        session.add(Person(id=unique_person_id(), email="ada@example.com", first_name="Ada"))
        session.commit()
    app = create_app()
    app.state.temporal, app.state.temporal_lock = dev_env.client, asyncio.Lock()
    main = main_worker(dev_env.client, get_settings())
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            main,
            smtp_worker(dev_env.client, get_settings()),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://api", headers=headers
            ) as api,
        ):
            campaign = await api.post(
                "/campaigns", content=PLAYBOOK, headers={"Content-Type": "application/yaml"}
            )
            assert campaign.status_code == 201, campaign.text
            url = f"/campaigns/{campaign.json()['id']}/enrollments"
            first = await api.post(url, json={"emails": ["ada@example.com"]})
            again = await api.post(url, json={"emails": ["ada@example.com"]})
            assert first.json()["results"][0]["result"] == "enrolled"
            assert again.json()["results"][0]["result"] == "already_enrolled"
            handle = dev_env.client.get_workflow_handle_for(
                EnrollmentWorkflow.run, first.json()["results"][0]["workflow_id"]
            )
            state = await handle.result()
            assert state.status == "completed" and state.steps[0].status == "sent"
    finally:
        sink.cancel()
        await asyncio.gather(sink, return_exceptions=True)
    with Session(get_engine()) as session:
        assert [e.status for e in session.exec(select(Enrollment)).all()] == ["completed"]
        assert [m.subject for m in session.exec(select(EmailMessage)).all()] == ["Hi Ada"]
        kinds = sorted(a.kind for a in session.exec(select(ActivityLog)).all())
        assert kinds == sorted([ActivityKind.add_to_campaign, ActivityKind.send_email])


def test_a_shipper_never_passes_over_a_row_that_commits_late(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL hands out ids before commit: row 1 can become visible after row 2. The
    shipper's cursor trails by the commit grace, and the batch is "no outcome yet", so row 1
    is still shipped."""
    import time

    from cadence.services.activity_log import record_activity
    from cadence.services.shipping import Outcome, load_batch, save_outcomes

    monkeypatch.setenv("CADENCE_SHIPPER_COMMIT_GRACE_SECONDS", "1")
    get_settings.cache_clear()
    engine = get_engine()
    with Session(engine) as session:
        session.add(Person(id=1, email="ada@example.com"))
        session.commit()

    def log(session: Session, key: str) -> None:
        record_activity(session, key=key, kind=ActivityKind.send_email, person_id=1, subject=key)

    def ship() -> list[str]:
        items = load_batch("salesforce", 200)
        save_outcomes("salesforce", items, [Outcome("shipped")] * len(items))
        return [i.activity.key for i in items]

    slow = Session(engine)
    log(slow, "early")  # id 1, not committed yet
    slow.flush()
    with Session(engine) as fast:
        log(fast, "late")  # id 2, committed first
        fast.commit()
    assert ship() == ["late"]
    slow.commit()  # row 1 appears, well within the grace
    slow.close()
    time.sleep(1.1)
    assert ship() == ["early"]
    assert ship() == []
    with Session(engine) as session:
        shipped = session.exec(select(ActivityLog.key)).all()
        assert sorted(shipped) == ["early", "late"]
