"""The fake Salesforce answers like the real REST API, and our client copes with what it answers:
token refresh, per-record failures, chunking, paging, retryable errors, persistence."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cadence.integrations.salesforce import SalesforceClient, SalesforceError
from devstack.fakes.salesforce import create_app

CID, SECRET = "sf-client", "sf-secret"
BASE = "http://salesforce.test"
KEY = "Cadence_Activity_Key__c"
LEAD = "00Q000000000042AAA"


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


def build(**kwargs: Any) -> tuple[FastAPI, httpx.AsyncClient]:
    app = create_app(CID, SECRET, **kwargs)
    return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app, http = build()
    async with http:
        yield app, http


def client(http: httpx.AsyncClient) -> SalesforceClient:
    return SalesforceClient(BASE, CID, SECRET, http=http)


def task(key: str, **extra: Any) -> dict[str, Any]:
    return {KEY: key, "Subject": f"Email: {key}", "Status": "Completed", "WhoId": LEAD, **extra}


async def test_token_needs_the_right_credentials_and_has_no_expiry(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, http = fake
    form = {"grant_type": "client_credentials", "client_id": CID, "client_secret": "wrong"}
    bad = await http.post("/services/oauth2/token", data=form)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"
    good = await http.post("/services/oauth2/token", data={**form, "client_secret": SECRET})
    body = good.json()
    assert good.status_code == 200 and body["token_type"] == "Bearer"
    assert "expires_in" not in body and body["instance_url"] == BASE


async def test_errors_are_a_json_array_with_limit_info(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, http = fake
    resp = await http.get("/services/data/v62.0/limits", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert resp.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert resp.headers["Sforce-Limit-Info"].startswith("api-usage=")


async def test_upsert_creates_then_updates_by_external_id(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, http = fake
    async with client(http) as sf:
        first = await sf.upsert_collection("Task", KEY, [task("a"), task("b")])
        again = await sf.upsert_collection("Task", KEY, [task("a", Subject="Email: changed")])
    assert [r.created for r in first] == [True, True] and all(r.success for r in first)
    assert again[0].created is False and again[0].id == first[0].id
    stored = {t[KEY]: t for t in app.state.fake.records["Task"].values()}
    assert len(stored) == 2 and stored["a"]["Subject"] == "Email: changed"
    assert stored["a"]["Priority"] == "Normal"  # Salesforce's default applied


async def test_bad_records_fail_alone_with_status_codes(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, http = fake
    records = [task("ok"), task("bad-who", WhoId="001000000000001AAA"), task("x", Nope=1)]
    async with client(http) as sf:
        results = await sf.upsert_collection("Task", KEY, records)
    assert [r.success for r in results] == [True, False, False]
    assert results[1].errors[0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert results[2].errors[0]["statusCode"] == "INVALID_FIELD"
    assert len(app.state.fake.records["Task"]) == 1


async def test_more_than_200_records_go_in_chunks(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, http = fake
    async with client(http) as sf:
        results = await sf.upsert_collection("Task", KEY, [task(f"k{i}") for i in range(450)])
    assert len(results) == 450 and all(r.success for r in results)
    assert len(app.state.fake.records["Task"]) == 450
    raw = await http.patch(
        f"/services/data/v62.0/composite/sobjects/Task/{KEY}",
        json={"records": [task("z") for _ in range(201)]},
        headers={"Authorization": f"Bearer {next(iter(app.state.fake.sessions))}"},
    )
    assert raw.status_code == 400 and raw.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


async def test_an_expired_session_is_renewed_once() -> None:
    clock = Clock()
    app, http = build(clock=clock, session_timeout_s=60)
    async with http, client(http) as sf:
        await sf.upsert_collection("Task", KEY, [task("a")])
        clock.now += 61
        await sf.upsert_collection("Task", KEY, [task("b")])
    assert app.state.fake.token_requests == 2
    assert len(app.state.fake.records["Task"]) == 2


async def test_retryable_and_permanent_failures_are_told_apart(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, http = fake
    await http.post("/_fake/faults", json={"code": "SERVER_UNAVAILABLE"})
    async with client(http) as sf:
        with pytest.raises(SalesforceError) as unavailable:
            await sf.upsert_collection("Task", KEY, [task("a")])
        assert unavailable.value.retryable and unavailable.value.status == 503
        with pytest.raises(SalesforceError) as bad_field:
            await sf.upsert_collection("Task", "Subject", [task("a")])
        assert not bad_field.value.retryable and bad_field.value.error_code == "INVALID_FIELD"
        await http.post("/_fake/faults", json={"code": "UNABLE_TO_LOCK_ROW"})
        locked = await sf.upsert_collection("Task", KEY, [task("a")])
        assert locked[0].errors[0]["statusCode"] == "UNABLE_TO_LOCK_ROW"


async def test_a_dropped_response_after_commit_does_not_duplicate_on_retry(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, http = fake
    await http.post("/_fake/faults", json={"drop_after_commit": True})
    async with client(http) as sf:
        with pytest.raises(SalesforceError) as dropped:
            await sf.upsert_collection("Task", KEY, [task("once")])
        assert dropped.value.retryable
        retry = await sf.upsert_collection("Task", KEY, [task("once")])
    assert retry[0].created is False
    assert len(app.state.fake.records["Task"]) == 1


async def test_a_share_of_calls_can_fail_until_the_fault_is_cleared(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, http = fake
    assert (await http.post("/_fake/faults", json={"delay_s": 0.1, "rate": 2})).status_code == 400
    await http.post("/_fake/faults", json={"code": "SERVER_UNAVAILABLE", "rate": 1.0})
    async with client(http) as sf:
        for _ in range(3):  # a rate fault stays until it is removed
            with pytest.raises(SalesforceError):
                await sf.upsert_collection("Task", KEY, [task("a")])
        await http.delete("/_fake/faults")
        assert (await sf.upsert_collection("Task", KEY, [task("a")]))[0].success
        await http.post("/_fake/faults", json={"code": "SERVER_UNAVAILABLE", "rate": 0.5})
        failed = 0
        for i in range(60):
            try:
                await sf.upsert_collection("Task", KEY, [task(f"r{i}")])
            except SalesforceError:
                failed += 1
    assert 10 < failed < 50  # about half


async def test_query_pages_through_results() -> None:
    _, http = build(query_batch_size=2)
    async with http, client(http) as sf:
        for i in range(5):
            seeded = await http.post(
                "/_fake/records/Lead",
                json={"LastName": f"L{i}", "Company": "Acme", "Email": f"p{i}@acme.test"},
            )
            assert seeded.status_code == 201
        rows = await sf.query("SELECT Id, Email FROM Lead WHERE Company = 'Acme' ORDER BY Email")
        assert [r["Email"] for r in rows] == [f"p{i}@acme.test" for i in range(5)]
        one = await sf.query("SELECT Id FROM Lead WHERE Email = 'P3@ACME.TEST'")
        assert len(one) == 1
        with pytest.raises(SalesforceError) as bad:
            await sf.query("SELECT Nope FROM Lead")
        assert bad.value.error_code == "INVALID_FIELD"


async def test_records_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sf.json"
    _, http = build(state_file=state)
    async with http, client(http) as sf:
        await sf.upsert_collection("Task", KEY, [task("kept")])
    _, again = build(state_file=state)
    async with again:
        tasks = (await again.get("/_fake/records/Task")).json()
    assert [t[KEY] for t in tasks] == ["kept"]


async def test_the_usage_header_is_read_and_a_ceiling_leaves_the_org_its_share() -> None:
    app, http = build(daily_limit=10)
    async with http:
        async with SalesforceClient(BASE, CID, SECRET, http=http, usage_ceiling=0.5) as sf:
            for i in range(5):
                await sf.upsert_collection("Task", KEY, [task(f"k{i}")])
            assert sf.api_usage == (5, 10)  # from Sforce-Limit-Info
            with pytest.raises(SalesforceError) as ceiling:
                await sf.upsert_collection("Task", KEY, [task("over")])
        assert ceiling.value.error_code == "API_USAGE_CEILING" and ceiling.value.retryable
        assert ceiling.value.retry_after_s is not None and ceiling.value.retry_after_s > 60
        assert len(app.state.fake.calls) == 5  # nothing went out past the ceiling


def test_request_limits_say_how_long_to_wait() -> None:
    daily = SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    busy = SalesforceError(403, "REQUEST_LIMIT_EXCEEDED",
                           "ConcurrentPerOrgLongTxn Limit exceeded.")  # fmt: skip
    assert (daily.retry_after_s, busy.retry_after_s) == (3600.0, 30.0)
    assert daily.retryable and busy.retryable


async def bearer(http: httpx.AsyncClient) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": CID, "client_secret": SECRET}
    token = (await http.post("/services/oauth2/token", data=form)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def test_a_refresh_token_gets_a_new_session(fake: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, http = fake
    refresh = (await http.post("/_fake/refresh-token")).json()["refresh_token"]
    form = {"grant_type": "refresh_token", "client_id": CID, "client_secret": SECRET}
    good = await http.post("/services/oauth2/token", data={**form, "refresh_token": refresh})
    assert good.status_code == 200 and good.json()["access_token"]
    bad = await http.post("/services/oauth2/token", data={**form, "refresh_token": "nope"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


async def test_composite_runs_subrequests_with_references_as_one_call(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, http = fake
    headers = await bearer(http)
    base = "/services/data/v62.0"
    before = len(app.state.fake.calls)
    answer = await http.post(f"{base}/composite", headers=headers, json={
        "allOrNone": True, "compositeRequest": [
            {"method": "POST", "url": f"{base}/sobjects/Lead", "referenceId": "lead",
             "body": {"LastName": "Lovelace", "Company": "Analytical"}},
            {"method": "POST", "url": f"{base}/sobjects/Task", "referenceId": "task",
             "body": {"Subject": "Call", "WhoId": "@{lead.id}", "Status": "Not Started"}},
            {"method": "GET", "url": f"{base}/sobjects/Task/@{{task.id}}?fields=WhoId",
             "referenceId": "check"},
        ]})  # fmt: skip
    parts = answer.json()["compositeResponse"]
    assert [p["httpStatusCode"] for p in parts] == [201, 201, 200]
    assert parts[2]["body"]["WhoId"] == parts[0]["body"]["id"]
    assert len(app.state.fake.calls) == before + 1  # one API call for all three
    # allOrNone: a failing subrequest undoes the ones before it
    leads = len(app.state.fake.records["Lead"])
    failed = await http.post(f"{base}/composite", headers=headers, json={
        "allOrNone": True, "compositeRequest": [
            {"method": "POST", "url": f"{base}/sobjects/Lead", "referenceId": "a",
             "body": {"LastName": "Hopper", "Company": "Navy"}},
            {"method": "POST", "url": f"{base}/sobjects/Lead", "referenceId": "b",
             "body": {"LastName": "No company"}},
            {"method": "POST", "url": f"{base}/sobjects/Lead", "referenceId": "c",
             "body": {"LastName": "Never", "Company": "X"}},
        ]})  # fmt: skip
    codes = [p["body"][0]["errorCode"] if p["httpStatusCode"] >= 400 else "ok"
             for p in failed.json()["compositeResponse"]]  # fmt: skip
    assert codes[1] == "REQUIRED_FIELD_MISSING" and codes[2] == "PROCESSING_HALTED"
    assert len(app.state.fake.records["Lead"]) == leads  # rolled back
    too_many = await http.post(f"{base}/composite", headers=headers, json={
        "compositeRequest": [{"method": "GET", "url": f"{base}/limits", "referenceId": f"r{i}"}
                             for i in range(26)]})  # fmt: skip
    assert too_many.status_code == 400


async def test_a_duplicate_value_is_a_record_error(fake: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, http = fake
    await http.post("/_fake/faults", json={"code": "DUPLICATE_VALUE"})
    async with client(http) as sf:
        saved = await sf.upsert_collection("Task", KEY, [task("a"), task("b")])
    assert saved[0].errors[0]["statusCode"] == "DUPLICATE_VALUE" and saved[1].success


async def test_the_integration_user_can_be_queried(fake: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, http = fake
    async with client(http) as sf:
        users = await sf.query("SELECT Id, Name, IsActive FROM User WHERE IsActive = true")
    assert [(u["Id"][:3], u["IsActive"]) for u in users] == [("005", True)]


async def test_too_many_long_running_requests_at_once_are_refused() -> None:
    _, http = build(long_request_s=0.05, max_long_requests=1)
    async with http:
        headers = await bearer(http)
        await http.post("/_fake/faults", json={"delay_s": 0.5})
        slow = asyncio.create_task(http.get("/services/data/v62.0/limits", headers=headers))
        await asyncio.sleep(0.2)  # the slow one has run past 0.05 s
        refused = await http.get("/services/data/v62.0/limits", headers=headers)
        assert refused.status_code == 403
        assert refused.json()[0]["message"] == "ConcurrentPerOrgLongTxn Limit exceeded."
        assert (await slow).status_code == 200
        assert (await http.get("/services/data/v62.0/limits", headers=headers)).status_code == 200


def _signed_jwt(key: Any, claims: dict[str, Any]) -> str:
    import base64
    import json as _json

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(_json.dumps({"alg": "RS256"}).encode())
    body = b64(_json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64(signature)}"


async def test_the_jwt_bearer_flow_checks_signature_issuer_audience_and_expiry() -> None:
    import time as _time
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cadence connected app")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))  # fmt: skip
    _, http = build(jwt_cert=cert.public_bytes(serialization.Encoding.PEM))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = {"iss": CID, "sub": "rita@org.example", "aud": "https://login.salesforce.com",
            "exp": int(_time.time()) + 120}  # fmt: skip
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    async with http:

        async def ask(signer: Any, claims: dict[str, Any]) -> httpx.Response:
            form = {"grant_type": grant, "assertion": _signed_jwt(signer, claims)}
            return await http.post("/services/oauth2/token", data=form)

        ok = await ask(key, good)
        assert ok.status_code == 200 and ok.json()["access_token"]
        for signer, claims, words in (
            (other, good, "signature invalid"),
            (key, {**good, "iss": "someone else"}, "client identifier invalid"),
            (key, {**good, "aud": "https://evil.example"}, "audience invalid"),
            (key, {**good, "exp": int(_time.time()) - 10}, "expired"),
        ):
            refused = await ask(signer, claims)
            assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
            assert words in refused.json()["error_description"]


async def test_a_collection_may_switch_types_ten_times_at_most(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, http = fake
    headers = await bearer(http)
    lead = {"attributes": {"type": "Lead"}, "LastName": "L", "Company": "C"}
    task_row = {"attributes": {"type": "Task"}, "Subject": "T", "Status": "Not Started"}
    url = "/services/data/v62.0/composite/sobjects"
    grouped = [lead] * 10 + [task_row] * 10  # two chunks
    assert (await http.post(url, headers=headers,
                            json={"records": grouped})).status_code == 200  # fmt: skip
    alternating = [lead, task_row] * 6  # twelve chunks
    refused = await http.post(url, headers=headers, json={"records": alternating})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "EXCEEDED_MAX_TYPES_LIMIT"


async def test_the_root_page_shows_what_the_fake_holds_and_its_admin_endpoints(
    fake: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, http = fake
    async with client(http) as sf:
        await sf.upsert_collection("Task", KEY, [task("a"), task("b")])
    page = await http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert re.search(r"<td>Task records</td><td>2</td>", page.text)
    assert re.search(r"<td>Lead records</td><td>0</td>", page.text)
    for endpoint in ("/_fake/records/{sobject}", "/_fake/faults", "/_fake/stats", "/_fake/reset"):
        assert f"<code>{endpoint}</code>" in page.text
    assert "The records of one sObject" in page.text
