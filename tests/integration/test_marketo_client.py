"""MarketoClient against the in-process fake: token handling, error classification, leads,
activities, custom activity types and `ensure_activity_types`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cadence.integrations.marketo import (
    ActivityPage,
    MarketoClient,
    MarketoError,
    seconds_until_quota_reset,
)
from cadence.integrations.marketo_types import (
    ACTIVITY_TYPES,
    TYPES_BY_KIND,
    ensure_activity_types,
    marketo_attributes,
)
from devstack.fakes.marketo import create_app

CID, SECRET = "client-id", "client-secret"
BASE = "http://marketo.test"
START = 1_780_000_000.0
KINDS = [
    "send_email",
    "open_email",
    "click_email",
    "reply_email",
    "email_bounced",
    "call",
    "add_to_campaign",
    "remove_from_campaign",
]


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Env:
    """The fake app, a raw httpx client to it, and a MarketoClient sharing the fake's clock."""

    def __init__(self, clock: Clock, **kwargs: Any) -> None:
        self.clock = clock
        self.app: FastAPI = create_app(CID, SECRET, clock=clock, **kwargs)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE)
        self.client = MarketoClient(BASE, CID, SECRET, http=self.http)
        self.client._monotonic = clock
        self.sleeps: list[float] = []

        async def fake_sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            clock.advance(seconds)

        self.client._sleep = fake_sleep

    async def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = (await self.http.get("/_fake/stats")).json()
        return data

    async def fault(self, **spec: Any) -> None:
        resp = await self.http.post("/_fake/faults", json=spec)
        assert resp.status_code == 200, resp.text


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e = Env(Clock())
    async with e.http, e.client:
        yield e


def mock_client(handler: Any) -> MarketoClient:
    """A client whose REST calls go to ``handler`` (Identity always succeeds)."""

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/identity/oauth/token":
            return httpx.Response(200, json={"access_token": "t:ab", "expires_in": 3599})
        result: httpx.Response = handler(request)
        return result

    http = httpx.AsyncClient(transport=httpx.MockTransport(route), base_url=BASE)
    return MarketoClient(BASE, CID, SECRET, http=http)


# ---------------------------------------------------------------------------- tokens


async def test_token_is_reused_until_it_runs_out(env: Env) -> None:
    await env.client.get_activity_types()
    await env.client.get_activity_types()
    assert (await env.stats())["token_requests"] == 1

    # Near the end of its life Identity returns the same token with expires_in 0: the client
    # waits it out and asks again rather than using a dying token.
    env.clock.advance(3599.2)
    await env.client.get_activity_types()
    data = await env.stats()
    assert data["token_requests"] == 3
    assert env.sleeps and env.sleeps[0] <= 1.5
    assert data["errors"] == {}


async def test_revoked_token_601_is_refreshed_and_retried_once(env: Env) -> None:
    await env.client.get_activity_types()
    await env.http.post("/_fake/revoke-token")
    types = await env.client.get_activity_types()
    assert types
    data = await env.stats()
    assert data["errors"] == {"601": 1}
    assert data["token_requests"] == 2


async def test_expired_token_602_is_refreshed(env: Env) -> None:
    await env.client.get_activity_types()
    env.client._monotonic = lambda: START  # the client's clock lags: it believes the token valid
    env.clock.advance(4000)
    assert await env.client.get_activity_types()
    assert (await env.stats())["errors"] == {"602": 1}


async def test_bad_credentials_raise_non_retryable() -> None:
    app = create_app(CID, SECRET)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
    async with MarketoClient(BASE, CID, "wrong", http=http) as client:
        with pytest.raises(MarketoError) as info:
            await client.get_activity_types()
    assert info.value.code == "401" and not info.value.retryable
    assert "Bad client credentials" in info.value.message
    await http.aclose()


# ---------------------------------------------------------------------------- errors


async def test_limits_are_classified() -> None:
    clock = Clock()
    e = Env(clock, rate_limit=2, max_concurrency=10, daily_quota=3)
    async with e.http, e.client:
        await e.client.get_activity_types()
        await e.client.get_activity_types()
        with pytest.raises(MarketoError) as rate:
            await e.client.get_activity_types()
        assert rate.value.code == "606" and rate.value.retryable
        assert rate.value.message == "Max rate limit '2' exceeded with in '20' secs"
        clock.advance(30)
        with pytest.raises(MarketoError) as quota:
            await e.client.get_activity_types()
        assert quota.value.code == "607" and not quota.value.retryable
        assert quota.value.retry_after_s is not None and 0 < quota.value.retry_after_s <= 25 * 3600


async def test_concurrency_615_is_retryable() -> None:
    e = Env(Clock(), max_concurrency=1)
    async with e.http, e.client:
        await e.client.get_activity_types()  # take the token first
        await e.fault(delay_s=0.2, count=1)
        other = MarketoClient(BASE, CID, SECRET, http=e.http)
        results = await asyncio.gather(
            e.client.get_activity_types(), other.get_activity_types(), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, MarketoError)]
        assert len(errors) == 1 and errors[0].code == "615" and errors[0].retryable


@pytest.mark.parametrize(
    ("code", "retryable"), [("611", True), ("604", True), ("608", True), ("713", True)]
)
async def test_injected_faults_are_retryable(env: Env, code: str, retryable: bool) -> None:
    await env.fault(code=code, count=1)
    with pytest.raises(MarketoError) as info:
        await env.client.get_activity_types()
    assert (info.value.code, info.value.retryable) == (code, retryable)
    assert await env.client.get_activity_types()  # the fault was one-shot


async def test_gateway_502_and_drop_after_commit(env: Env) -> None:
    await env.fault(code="502", count=1)
    with pytest.raises(MarketoError) as gateway:
        await env.client.get_activity_types()
    assert gateway.value.code == "502" and gateway.value.retryable

    await env.fault(drop_after_commit=True, count=1, path_contains="leads.json")
    with pytest.raises(MarketoError) as dropped:
        await env.client.sync_leads([{"email": "ann@example.com"}])
    assert dropped.value.retryable
    # The write happened although the caller could not know it.
    assert (await env.client.get_leads("email", ["ann@example.com"]))[0]["id"] == 1


@pytest.mark.parametrize(
    ("code", "retryable"),
    [("609", False), ("610", False), ("612", False), ("603", False), ("719", True), ("614", True)],
)
async def test_response_level_codes_are_classified(code: str, retryable: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"code": code, "message": "boom"}
        return httpx.Response(200, json={"requestId": "a#b", "success": False, "errors": [error]})

    async with mock_client(handler) as client:
        with pytest.raises(MarketoError) as info:
            await client.get_activity_types()
    assert (info.value.code, info.value.retryable, info.value.message) == (code, retryable, "boom")


@pytest.mark.parametrize(("status", "retryable"), [(413, False), (414, False), (503, True)])
async def test_http_errors(status: int, retryable: bool) -> None:
    async with mock_client(lambda request: httpx.Response(status, text="<html/>")) as client:
        with pytest.raises(MarketoError) as info:
            await client.get_activity_types()
    assert (info.value.code, info.value.retryable) == (str(status), retryable)


async def test_transport_errors_are_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with mock_client(handler) as client:
        with pytest.raises(MarketoError) as info:
            await client.get_activity_types()
    assert info.value.code == "transport" and info.value.retryable


def test_quota_reset_is_chicago_midnight() -> None:
    # 2026-07-01 04:00 UTC is 23:00 in Chicago (CDT): one hour to go.
    assert seconds_until_quota_reset(datetime(2026, 7, 1, 4, 0, tzinfo=UTC)) == 3600
    assert MarketoError("607", "Daily quota reached").retry_after_s is not None
    assert MarketoError("1004", "Lead not found").retryable is False


# ---------------------------------------------------------------------------- leads and activities


async def test_leads_roundtrip(env: Env) -> None:
    result = await env.client.sync_leads(
        [{"email": f"p{i}@example.com", "sfdcLeadOwnerId": "005A"} for i in range(300)]
    )
    assert {r["status"] for r in result} == {"created"}
    skipped = await env.client.sync_leads([{"email": "new@example.com"}], action="updateOnly")
    assert skipped[0]["reasons"][0]["code"] == "1004"
    with pytest.raises(ValueError):
        await env.client.sync_leads([{"email": "x@example.com"}] * 301)

    lead = await env.client.get_lead(1, ["email", "sfdcLeadOwnerId"])
    assert lead == {"id": 1, "email": "p0@example.com", "sfdcLeadOwnerId": "005A"}
    assert await env.client.get_lead(999) is None

    # 305 ids → two chunks; batch size 120 → several pages each.
    owned = await env.client.get_leads("id", list(range(1, 306)), ["email"], batch_size=120)
    assert [lead["id"] for lead in owned] == list(range(1, 301))
    # A long list of emails exceeds the 8 KB URI limit: sent as POST ?_method=GET.
    emails = [f"p{i}@example.com" for i in range(300)]
    padded = [e.replace("@", "+padding-to-make-the-uri-long@") for e in emails[:200]]
    found = await env.client.get_leads("email", emails[:100] + padded)
    assert len(found) == 100
    with pytest.raises(MarketoError) as bad:
        await env.client.get_leads("firstName", ["Ann"])
    assert bad.value.code == "1011" and not bad.value.retryable


async def test_activities_paging_finds_new_leads(env: Env) -> None:
    since = datetime.fromtimestamp(env.clock.now - 60, UTC)
    await env.client.sync_leads([{"email": f"p{i}@example.com"} for i in range(5)])
    env.clock.advance(5)
    await env.client.sync_leads([{"email": "p1@example.com", "title": "CEO"}])
    token = await env.client.get_paging_token(since)
    seen: list[tuple[int, int]] = []
    pages = 0
    while True:
        page = await env.client.get_activities(token, [12, 13], batch_size=2)
        assert isinstance(page, ActivityPage) and page.next_page_token
        pages += 1
        seen += [(a["activityTypeId"], a["leadId"]) for a in page.activities]
        token = page.next_page_token
        if not page.more_result:
            break
    assert seen == [(12, 1), (12, 2), (12, 3), (12, 4), (12, 5), (13, 2)]
    assert pages == 3
    empty = await env.client.get_activities(token, [12, 13])
    assert empty.activities == [] and not empty.more_result and empty.next_page_token
    only = await env.client.get_activities(
        await env.client.get_paging_token(since), [12, 13], lead_ids=[2]
    )
    assert [a["activityTypeId"] for a in only.activities] == [12, 13]
    with pytest.raises(ValueError):
        await env.client.get_activities(token, list(range(11)))
    with pytest.raises(ValueError):
        await env.client.get_activities(token, [12], lead_ids=list(range(31)))


async def test_custom_type_draft_rejected_then_approved(env: Env) -> None:
    await env.client.sync_leads([{"email": "ann@example.com"}])
    created = await env.client.create_custom_activity_type(
        "cadenceDemo",
        "Demo",
        "Does Demo",
        "Did Demo",
        {"apiName": "subject", "name": "Subject", "dataType": "string"},
    )
    assert created["status"] == "draft"
    await env.client.create_custom_activity_attributes(
        "cadenceDemo", [{"apiName": "step", "name": "Step", "dataType": "string"}]
    )
    row = {
        "leadId": 1,
        "activityDate": "2026-05-28T10:00:00Z",
        "activityTypeId": created["id"],
        "primaryAttributeValue": "Hi",
        "attributes": [{"apiName": "step", "value": "s1"}],
    }
    rejected = await env.client.add_custom_activities([row])
    assert rejected[0]["status"] == "skipped"
    approved = await env.client.approve_custom_activity_type("cadenceDemo")
    assert approved["status"] == "approved"
    results = await env.client.add_custom_activities([row, {**row, "leadId": 77}])
    assert results[0]["status"] == "added" and results[0]["marketoGUID"]
    assert results[1] == {
        "status": "skipped",
        "errors": [{"code": "1004", "message": "Lead not found"}],
    }
    with pytest.raises(ValueError):
        await env.client.add_custom_activities([row] * 301)
    listed = await env.client.list_custom_activity_types()
    assert [(t["apiName"], t["status"]) for t in listed] == [("cadenceDemo", "approved")]


# ---------------------------------------------------------------------------- activity types


def test_type_specs_fit_marketo_limits() -> None:
    assert [t.kind for t in ACTIVITY_TYPES] == KINDS
    assert len(ACTIVITY_TYPES) <= 10
    for spec in ACTIVITY_TYPES:
        api_names = [a.api_name for a in spec.attributes]
        assert len(api_names) <= 20 and len(set(api_names)) == len(api_names)
        assert spec.primary.api_name not in api_names
        assert spec.api_name.startswith("cadence")
    assert len({t.trigger_name for t in ACTIVITY_TYPES}) == len(ACTIVITY_TYPES)
    assert TYPES_BY_KIND["send_email"].name == "Send Sales Email"


def test_marketo_attributes_maps_details() -> None:
    primary, attrs = marketo_attributes(
        "send_email",
        42,
        "Quick question",
        {"campaign_name": "Q3", "step_id": "s2", "step_day": 3, "sender": "rep@x.test", "x": 1},
    )
    assert primary == "Quick question (CAD-00000042)"  # a unique id, as MSIA's (SIA-...)
    assert attrs["campaignName"] == "Q3" and attrs["step"] == "s2" and attrs["stepDay"] == 3
    assert attrs["sentBy"] == "rep@x.test" and attrs["cadenceActivityId"] == 42
    assert attrs["source"] == "Cadence" and "link" not in attrs
    assert set(attrs) == {a.api_name for a in TYPES_BY_KIND["send_email"].attributes}
    primary, attrs = marketo_attributes("add_to_campaign", 7, None, {"campaign_name": "Q3"})
    assert primary == "Q3 (CAD-00000007)"
    primary, _ = marketo_attributes("call", 8, None, {})
    assert primary == "Received Sales Call (CAD-00000008)"
    long, _ = marketo_attributes("send_email", 9, "x" * 300, {})
    assert len(long) == 255 and long.endswith("x (CAD-00000009)")


async def test_ensure_activity_types_is_idempotent(env: Env) -> None:
    ids = await env.client.get_activity_types()
    assert ids
    first = await ensure_activity_types(env.client)
    assert sorted(first) == sorted(KINDS)
    assert all(type_id >= 100000 for type_id in first.values())
    before = (await env.stats())["by_path"]
    assert sum(n for p, n in before.items() if p.endswith("/approve.json")) == 8

    second = await ensure_activity_types(env.client)
    assert second == first
    after = (await env.stats())["by_path"]
    writes = [p for p in after if p.endswith(("type.json", "create.json", "approve.json"))]
    assert all(after[p] == before[p] for p in writes)  # nothing created the second time

    # The types accept rows built by marketo_attributes.
    await env.client.sync_leads([{"email": "ann@example.com"}])
    primary, attrs = marketo_attributes(
        "click_email", 1, "Hello", {"link": "https://x.test", "campaign_id": 3}
    )
    row = {
        "leadId": 1,
        "activityDate": "2026-05-28T10:00:00Z",
        "activityTypeId": first["click_email"],
        "primaryAttributeValue": primary,
        "attributes": [{"apiName": k, "value": v} for k, v in attrs.items() if v is not None],
    }
    assert (await env.client.add_custom_activities([row]))[0]["status"] == "added"
    stored = (
        await env.http.get("/_fake/activities", params={"apiName": "cadenceClickSalesEmail"})
    ).json()
    assert stored[0]["attributes"]["link"] == "https://x.test"
    assert stored[0]["attributes"]["campaignId"] == 3


async def test_ensure_activity_types_completes_a_half_provisioned_type(env: Env) -> None:
    spec = TYPES_BY_KIND["call"]
    await env.client.create_custom_activity_type(
        spec.api_name, spec.name, spec.trigger_name, spec.filter_name, spec.primary.spec()
    )
    ids = await ensure_activity_types(env.client)
    described = await env.client.describe_custom_activity_type(spec.api_name)
    assert described["status"] == "approved" and described["id"] == ids["call"]
    assert {a["apiName"] for a in described["attributes"]} == {a.api_name for a in spec.attributes}


async def test_clients_owning_their_http_share_the_token_cache() -> None:
    a = MarketoClient("http://127.0.0.1:1/", CID, SECRET)
    b = MarketoClient("http://127.0.0.1:1", CID, SECRET)
    c = MarketoClient("http://127.0.0.1:1", "other", SECRET)
    try:
        assert a._cache is b._cache and a._cache is not c._cache
    finally:
        for client in (a, b, c):
            await client.aclose()


# ---------------------------------------------------------------------------- bulk lead extract


def window(clock: Clock, days: int = 2) -> dict[str, Any]:
    now = datetime.fromtimestamp(clock.now, UTC)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {"createdAt": {"startAt": (now - timedelta(days=days)).strftime(fmt),
                          "endAt": (now + timedelta(minutes=5)).strftime(fmt)}}  # fmt: skip


async def test_export_leads_waits_for_marketos_clock_and_reads_the_file(env: Env) -> None:
    await env.client.sync_leads([{"email": "ada@example.com", "firstName": "Ada"},
                                 {"email": "bob@example.com"}])  # fmt: skip
    leads = await env.client.export_leads(["id", "email", "firstName"], window(env.clock),
                                          poll_s=60)  # fmt: skip
    assert leads == [{"id": "1", "email": "ada@example.com", "firstName": "Ada"},
                     {"id": "2", "email": "bob@example.com", "firstName": None}]  # fmt: skip
    assert env.sleeps == [60, 60]  # Queued -> Processing -> Completed, a minute a step
    calls = (await env.stats())["by_path"]
    assert calls["/bulk/v1/leads/export/create.json"] == 1


async def test_export_leads_waits_for_a_place_in_a_full_queue(env: Env) -> None:
    for _ in range(10):  # somebody else's exports fill the queue
        spec = {"fields": ["id"], "filter": window(env.clock)}
        made = await env.client._call("POST", "/bulk/v1/leads/export/create.json", json=spec)
        export_id = made["result"][0]["exportId"]
        await env.client._call("POST", f"/bulk/v1/leads/export/{export_id}/enqueue.json")
    leads = await env.client.export_leads(["id"], window(env.clock), poll_s=60)
    assert leads == [] and len(env.sleeps) >= 3  # waited for the queue, then for the job


async def test_export_leads_gives_up_on_a_job_that_never_finishes() -> None:
    clock = Clock()
    e = Env(clock, bulk_step_s=10_000)
    async with e.http, e.client:
        with pytest.raises(MarketoError, match="at the deadline"):
            await e.client.export_leads(["id"], window(clock), poll_s=60, timeout_s=300)
        jobs = (await e.client._call("GET", "/bulk/v1/leads/export.json"))["result"]
    assert [j["status"] for j in jobs] == ["Canceled"]  # nothing left running


def test_error_codes_say_whether_to_retry_and_whether_the_call_may_have_run() -> None:
    """Marketo's table: a 6xx means nothing ran; only a lost answer leaves it open."""
    cases = {
        "604": (True, False), "606": (True, False), "611": (True, False), "615": (True, False),
        "713": (True, False), "719": (True, False), "603": (False, False), "609": (False, False),
        "610": (False, False), "612": (False, False), "613": (False, False), "1004": (False, False),
        "502": (True, True), "503": (True, True), "transport": (True, True),
    }  # fmt: skip
    for code, (retry, ambiguous) in cases.items():
        err = MarketoError(code, "x")
        assert (code, err.retryable, err.ambiguous) == (code, retry, ambiguous)
    assert not MarketoError("transport", "connect refused", ambiguous=False).ambiguous


@pytest.mark.parametrize("spelling", ["Canceled", "Cancelled", "CANCELLED"])
async def test_export_leads_stops_at_a_cancelled_job_in_either_spelling(spelling: str) -> None:
    """Marketo's docs write both "Canceled" and "Cancelled": a job cancelled elsewhere ends
    the export at the next poll, not at the six-hour deadline."""
    clock = Clock()
    e = Env(clock, bulk_step_s=10_000)  # the job would stay queued for hours
    app = e.app

    async def cancel_elsewhere(seconds: float) -> None:
        clock.advance(seconds)
        for job in app.state.fake.bulk.jobs.values():
            job.status = spelling

    e.client._sleep = cancel_elsewhere
    async with e.http, e.client:
        with pytest.raises(MarketoError, match="cancel"):
            await e.client.export_leads(["id"], window(clock), poll_s=60)
    assert clock.now - START <= 120


async def test_export_leads_refuses_a_file_that_does_not_match_its_checksum(env: Env) -> None:
    await env.client.sync_leads([{"email": "ada@example.com"}])
    real_file = env.app.state.fake.bulk.file

    def damaged(export_id: str, range_header: str | None) -> Any:
        response = real_file(export_id, range_header)
        response.body = response.body[:-3]  # cut short on the way
        response.headers["content-length"] = str(len(response.body))
        return response

    env.app.state.fake.bulk.file = damaged
    env.app.state.fake.routes = env.app.state.fake._routes()
    with pytest.raises(MarketoError, match="checksum"):
        await env.client.export_leads(["id", "email"], window(env.clock), poll_s=60)
