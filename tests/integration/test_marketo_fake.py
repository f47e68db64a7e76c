"""The fake Marketo behaves like the real REST API: envelope, auth, limits, leads, activities,
custom activity types, fault injection and persistence."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from devstack.fakes.marketo import create_app

CID, SECRET = "client-id", "client-secret"
BASE = "http://marketo.test"
START = 1_780_000_000.0  # 2026-05-28, well away from midnight in Chicago


class Clock:
    """A settable clock shared by the fake (and, in client tests, the client)."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def build(clock: Clock, **kwargs: Any) -> tuple[FastAPI, httpx.AsyncClient]:
    app = create_app(CID, SECRET, clock=clock, **kwargs)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
    return app, http


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def http(clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    _, client = build(clock)
    async with client:
        yield client


async def token(http: httpx.AsyncClient) -> str:
    resp = await http.get(
        "/identity/oauth/token",
        params={"grant_type": "client_credentials", "client_id": CID, "client_secret": SECRET},
    )
    assert resp.status_code == 200, resp.text
    value: str = resp.json()["access_token"]
    return value


async def call(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json: Any = None,
    tok: str | None = None,
) -> dict[str, Any]:
    tok = tok or await token(http)
    resp = await http.request(
        method, path, params=params, json=json, headers={"Authorization": f"Bearer {tok}"}
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def error_code(body: dict[str, Any]) -> str:
    assert body["success"] is False
    code: str = body["errors"][0]["code"]
    return code


async def sync(http: httpx.AsyncClient, leads: list[dict[str, Any]], **kw: Any) -> list[Any]:
    body = await call(http, "POST", "/rest/v1/leads.json", json={"input": leads, **kw})
    assert body["success"], body
    result: list[Any] = body["result"]
    return result


async def stats(http: httpx.AsyncClient) -> dict[str, Any]:
    data: dict[str, Any] = (await http.get("/_fake/stats")).json()
    return data


# ---------------------------------------------------------------------------- identity and auth


async def test_identity_returns_the_same_token_counting_down(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    params = {"grant_type": "client_credentials", "client_id": CID, "client_secret": SECRET}
    first = (await http.get("/identity/oauth/token", params=params)).json()
    assert first["token_type"] == "bearer"
    assert first["expires_in"] == 3599
    assert re.fullmatch(r"[0-9a-f-]{36}:ab", first["access_token"])
    assert first["scope"]

    clock.advance(1000)
    again = (await http.post("/identity/oauth/token", params=params)).json()
    assert again["access_token"] == first["access_token"]
    assert again["expires_in"] == 2599

    clock.advance(2599.5)  # half a second left: same token, expires_in 0
    last = (await http.get("/identity/oauth/token", params=params)).json()
    assert (last["access_token"], last["expires_in"]) == (first["access_token"], 0)

    clock.advance(1)
    fresh = (await http.get("/identity/oauth/token", params=params)).json()
    assert fresh["access_token"] != first["access_token"]
    assert fresh["expires_in"] == 3599
    assert (await stats(http))["calls"] == 0  # identity is not counted


async def test_bad_credentials_get_401(http: httpx.AsyncClient) -> None:
    resp = await http.get(
        "/identity/oauth/token",
        params={"grant_type": "client_credentials", "client_id": CID, "client_secret": "nope"},
    )
    assert resp.status_code == 401
    assert resp.json() == {"error": "unauthorized", "error_description": "Bad client credentials"}


async def test_auth_errors_are_http_200_envelopes(http: httpx.AsyncClient, clock: Clock) -> None:
    resp = await http.get("/rest/v1/activities/types.json")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert re.fullmatch(r"[0-9a-f]+#[0-9a-f]+", body["requestId"])
    assert body["success"] is False
    assert body["errors"] == [{"code": "601", "message": "Access token invalid"}]

    tok = await token(http)
    query_only = await http.get("/rest/v1/activities/types.json", params={"access_token": tok})
    assert error_code(query_only.json()) == "601"
    unknown = await call(http, "GET", "/rest/v1/activities/types.json", tok="x:ab")
    assert error_code(unknown) == "601"

    ok = await call(http, "GET", "/rest/v1/activities/types.json", tok=tok)
    assert ok["success"] is True and ok["result"] and ok["errors"] == []
    clock.advance(3601)
    expired = await call(http, "GET", "/rest/v1/activities/types.json", tok=tok)
    assert error_code(expired) == "602"
    # Only the successful call counts against the limits.
    assert (await stats(http))["calls"] == 1


async def test_request_level_errors(http: httpx.AsyncClient) -> None:
    tok = await token(http)
    auth = {"Authorization": f"Bearer {tok}"}
    assert error_code(await call(http, "GET", "/rest/v1/nothing.json", tok=tok)) == "610"
    assert error_code(await call(http, "DELETE", "/rest/v1/leads.json", tok=tok)) == "605"
    text = await http.post(
        "/rest/v1/leads.json", content=b"{}", headers={**auth, "Content-Type": "text/plain"}
    )
    assert error_code(text.json()) == "612"
    bad = await http.post(
        "/rest/v1/leads.json",
        content=b"{not json",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert error_code(bad.json()) == "609"
    too_big = await http.post(
        "/rest/v1/leads.json",
        content=b" " * 1_100_000,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    long_uri = await http.get("/rest/v1/leads.json", params={"x": "y" * 9000}, headers=auth)
    assert long_uri.status_code == 414


# ---------------------------------------------------------------------------- limits


async def test_rate_limit_606_sliding_window(clock: Clock) -> None:
    _, http = build(clock, rate_limit=3, rate_window_s=20)
    async with http:
        tok = await token(http)
        for _ in range(3):
            assert (await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok))["success"]
            clock.advance(5)
        over = await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok)
        assert over["errors"] == [
            {"code": "606", "message": "Max rate limit '3' exceeded with in '20' secs"}
        ]
        clock.advance(6)  # the first call (t=0) has left the window at t=21
        assert (await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok))["success"]


async def test_concurrency_limit_615(clock: Clock) -> None:
    _, http = build(clock, max_concurrency=2)
    async with http:
        tok = await token(http)
        await http.post("/_fake/faults", json={"delay_s": 0.2, "rate": 1.0})
        bodies = await asyncio.gather(
            *(call(http, "GET", "/rest/v1/leads/describe.json", tok=tok) for _ in range(3))
        )
        codes = sorted("ok" if b["success"] else error_code(b) for b in bodies)
        assert codes == ["615", "ok", "ok"]


async def test_daily_quota_607_resets_at_chicago_midnight() -> None:
    chicago = ZoneInfo("America/Chicago")
    clock = Clock(datetime(2026, 3, 10, 23, 58, tzinfo=chicago).timestamp())
    _, http = build(clock, daily_quota=2)
    async with http:
        tok = await token(http)
        for _ in range(2):
            assert (await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok))["success"]
        assert error_code(await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok)) == "607"
        clock.advance(180)  # 00:01 the next day in Chicago
        assert (await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok))["success"]


async def test_uncounted_codes_do_not_use_quota(http: httpx.AsyncClient) -> None:
    tok = await token(http)
    for code in ("611", "604", "608"):
        await http.post("/_fake/faults", json={"code": code, "count": 1})
        assert error_code(await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok)) == code
    await http.post("/_fake/faults", json={"code": "713", "count": 1})
    assert error_code(await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok)) == "713"
    data = await stats(http)
    assert data["calls"] == 1  # only the 713
    assert data["errors"] == {"611": 1, "604": 1, "608": 1, "713": 1}


# ---------------------------------------------------------------------------- leads


async def test_sync_leads_create_update_skip(http: httpx.AsyncClient) -> None:
    created = await sync(
        http,
        [
            {"email": "ann@example.com", "firstName": "Ann", "title": "CTO"},
            {"email": "bob@example.com", "unsubscribed": "true"},
        ],
    )
    assert created == [{"id": 1, "status": "created"}, {"id": 2, "status": "created"}]
    updated = await sync(http, [{"email": "ANN@example.com", "title": "CEO"}])
    assert updated == [{"id": 1, "status": "updated"}]
    only_new = await sync(http, [{"email": "ann@example.com"}], action="createOnly")
    assert only_new[0]["status"] == "skipped"
    assert only_new[0]["reasons"][0]["code"] == "1005"
    missing = await sync(http, [{"email": "zed@example.com"}], action="updateOnly")
    assert missing == [
        {"status": "skipped", "reasons": [{"code": "1004", "message": "Lead not found"}]}
    ]
    unknown_field = await sync(http, [{"email": "c@example.com", "shoeSize": 9}])
    assert unknown_field[0]["reasons"][0]["code"] == "1006"
    by_id = await sync(http, [{"id": 2, "company": "Acme"}], lookupField="id")
    assert by_id == [{"id": 2, "status": "updated"}]

    too_many = await call(
        http, "POST", "/rest/v1/leads.json", json={"input": [{"email": "x@y.z"}] * 301}
    )
    assert error_code(too_many) == "1003"

    leads = (await http.get("/_fake/leads")).json()
    assert [(lead["id"], lead.get("title")) for lead in leads] == [(1, "CEO"), (2, None)]
    assert leads[1]["unsubscribed"] is True and leads[1]["company"] == "Acme"
    assert leads[0]["createdAt"].endswith("Z") and leads[0]["updatedAt"].endswith("Z")


async def test_get_lead_by_id(http: httpx.AsyncClient) -> None:
    await sync(http, [{"email": "ann@example.com", "firstName": "Ann", "phone": "+1 555"}])
    default = await call(http, "GET", "/rest/v1/lead/1.json")
    lead = default["result"][0]
    assert set(lead) == {"id", "email", "firstName", "createdAt", "updatedAt"}  # no lastName
    chosen = await call(http, "GET", "/rest/v1/lead/1.json", params={"fields": "phone,company"})
    assert chosen["result"] == [{"id": 1, "phone": "+1 555"}]
    assert (await call(http, "GET", "/rest/v1/lead/99.json"))["result"] == []
    bad = await call(http, "GET", "/rest/v1/lead/1.json", params={"fields": "nope"})
    assert error_code(bad) == "1006"


async def test_get_leads_by_filter_with_paging(http: httpx.AsyncClient) -> None:
    await sync(http, [{"email": f"p{i}@example.com", "sfdcLeadOwnerId": "005A"} for i in range(5)])
    params: dict[str, Any] = {
        "filterType": "sfdcLeadOwnerId",
        "filterValues": "005A",
        "fields": "email",
        "batchSize": 2,
    }
    seen: list[int] = []
    pages = 0
    while True:
        body = await call(http, "GET", "/rest/v1/leads.json", params=params)
        pages += 1
        seen += [lead["id"] for lead in body["result"]]
        if "nextPageToken" not in body:
            break
        params["nextPageToken"] = body["nextPageToken"]
    assert (seen, pages) == ([1, 2, 3, 4, 5], 3)

    by_email = await call(
        http,
        "GET",
        "/rest/v1/leads.json",
        params={"filterType": "email", "filterValues": "P1@example.com,nobody@example.com"},
    )
    assert [lead["id"] for lead in by_email["result"]] == [2]
    unsupported = await call(
        http, "GET", "/rest/v1/leads.json", params={"filterType": "firstName", "filterValues": "A"}
    )
    assert error_code(unsupported) == "1011"
    too_many = await call(
        http,
        "GET",
        "/rest/v1/leads.json",
        params={"filterType": "id", "filterValues": ",".join(str(i) for i in range(301))},
    )
    assert error_code(too_many) == "1003"


async def test_long_query_as_post_with_method_get(http: httpx.AsyncClient) -> None:
    await sync(http, [{"email": "ann@example.com"}])
    tok = await token(http)
    emails = [
        "ann@example.com",
        *(f"someone-{i:04d}@a-long-domain.example.com" for i in range(250)),
    ]
    resp = await http.post(
        "/rest/v1/leads.json",
        params={"_method": "GET"},
        data={"filterType": "email", "filterValues": ",".join(emails)},
        headers={"Authorization": f"Bearer {tok}"},
    )
    assert [lead["id"] for lead in resp.json()["result"]] == [1]


async def test_describe_lists_the_fields_we_need(http: httpx.AsyncClient) -> None:
    body = await call(http, "GET", "/rest/v1/leads/describe.json")
    names = {f["rest"]["name"] for f in body["result"]}
    needed = {
        "firstName", "lastName", "email", "phone", "company", "title", "leadSource",
        "unsubscribed", "sfdcContactId", "sfdcLeadId", "sfdcAccountId", "sfdcOpptyId",
        "sfdcLeadOwnerId", "linkedInProfileURL", "country", "state", "city",
    }  # fmt: skip
    assert needed <= names
    described = await call(http, "GET", "/rest/v1/leads/describe2.json")
    searchable = described["result"][0]["searchableFields"]
    assert ["sfdcLeadOwnerId"] in searchable and ["id"] in searchable


LOCATION = {"country": "Country", "state": "State", "city": "City", "postalCode": "Postal Code",
            "mobilePhone": "Mobile Phone Number"}  # fmt: skip
INFERRED = {
    "inferredCountry": "Inferred Country",
    "inferredStateRegion": "Inferred State Region",
    "inferredCity": "Inferred City",
    "inferredPostalCode": "Inferred Postal Code",
}


async def test_describe_has_the_location_fields_the_inferred_ones_read_only(
    http: httpx.AsyncClient,
) -> None:
    body = await call(http, "GET", "/rest/v1/leads/describe.json")
    fields = {f["rest"]["name"]: f for f in body["result"]}
    for name, label in {**LOCATION, **INFERRED}.items():
        field = fields[name]
        assert field["displayName"] == label
        assert field["dataType"] == ("phone" if name == "mobilePhone" else "string")
        assert field["rest"]["readOnly"] is (name in INFERRED)
        assert field["soap"]["name"] == name[0].upper() + name[1:]


async def test_only_a_web_visit_sets_the_inferred_location(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    (made,) = await sync(http, [{"email": "ada@example.com", "country": "UK",
                                 "inferredCountry": "France"}])  # fmt: skip
    lead = await call(http, "GET", f"/rest/v1/lead/{made['id']}.json",
                      params={"fields": "country,inferredCountry"})  # fmt: skip
    assert lead["result"] == [{"id": made["id"], "country": "UK"}]  # no API writes it
    since = datetime.fromtimestamp(clock.now - 1).astimezone().isoformat()
    visited = await http.post(
        f"/_fake/leads/{made['id']}/web-visit",
        json={
            "inferredCountry": "Germany",
            "inferredStateRegion": "Berlin",
            "inferredCity": "Berlin",
        },
    )
    assert visited.status_code == 200 and visited.json()["inferredCountry"] == "Germany"
    start = await call(
        http, "GET", "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": since}
    )
    page = await call(http, "GET", "/rest/v1/activities.json", params={
        "nextPageToken": start["nextPageToken"], "activityTypeIds": "13"})  # fmt: skip
    changed = [(a["primaryAttributeValue"], {x["name"]: x["value"] for x in a["attributes"]})
               for a in page["result"]]  # fmt: skip
    assert [(name, attrs["New Value"], attrs["Reason"]) for name, attrs in changed] == [
        ("Inferred Country", "Germany", "Web visit"),
        ("Inferred State Region", "Berlin", "Web visit"),
        ("Inferred City", "Berlin", "Web visit"),
    ]
    wrong = await http.post(f"/_fake/leads/{made['id']}/web-visit", json={"country": "US"})
    assert wrong.status_code == 400 and "country" in wrong.json()["error"]
    assert (await http.post("/_fake/leads/999/web-visit", json={})).status_code == 404


# ---------------------------------------------------------------------------- activities


async def test_activity_types_include_standard_and_sales_ids(http: httpx.AsyncClient) -> None:
    body = await call(http, "GET", "/rest/v1/activities/types.json")
    ids = {t["id"] for t in body["result"]}
    assert {1, 2, 6, 7, 8, 9, 10, 11, 12, 13, 24, 39, 40, 41, 45, 46, 47, 48} <= ids
    names = {t["id"]: t["name"] for t in body["result"]}
    assert names[12] == "New Lead" and names[13] == "Change Data Value"


async def test_activities_new_lead_and_change_data_value(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    since = datetime.fromtimestamp(clock.now - 1).astimezone().isoformat()
    await sync(http, [{"email": f"p{i}@example.com"} for i in range(3)])
    clock.advance(10)
    await sync(http, [{"email": "p0@example.com", "title": "VP Sales"}])

    start = await call(
        http, "GET", "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": since}
    )
    assert start["success"] and start["nextPageToken"]
    params = {"nextPageToken": start["nextPageToken"], "activityTypeIds": "12,13", "batchSize": 2}
    items: list[dict[str, Any]] = []
    while True:
        page = await call(http, "GET", "/rest/v1/activities.json", params=params)
        assert page["nextPageToken"]  # always returned
        items += page.get("result", [])
        params["nextPageToken"] = page["nextPageToken"]
        if not page["moreResult"]:
            break
    assert [(a["activityTypeId"], a["leadId"]) for a in items] == [
        (12, 1),
        (12, 2),
        (12, 3),
        (13, 1),
    ]
    new_lead, change = items[0], items[3]
    assert set(new_lead) >= {"id", "marketoGUID", "leadId", "activityDate", "attributes"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", new_lead["activityDate"])
    assert change["primaryAttributeValue"] == "Job Title"
    attrs = {a["name"]: a["value"] for a in change["attributes"]}
    assert attrs["New Value"] == "VP Sales" and "Old Value" not in attrs

    # The last token picks up later activities only.
    await sync(http, [{"email": "p9@example.com"}])
    later = await call(http, "GET", "/rest/v1/activities.json", params=params)
    assert [a["leadId"] for a in later["result"]] == [4]

    # Filter by lead.
    one = await call(
        http,
        "GET",
        "/rest/v1/activities.json",
        params={
            "nextPageToken": start["nextPageToken"],
            "activityTypeIds": "12,13",
            "leadIds": "1",
        },
    )
    assert [a["activityTypeId"] for a in one["result"]] == [12, 13]


async def test_activities_parameter_errors(http: httpx.AsyncClient) -> None:
    bad_date = await call(
        http, "GET", "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": "yesterday"}
    )
    assert error_code(bad_date) == "704"
    tok = (
        await call(
            http,
            "GET",
            "/rest/v1/activities/pagingtoken.json",
            params={"sinceDatetime": "2026-01-01T00:00:00Z"},
        )
    )["nextPageToken"]
    no_types = await call(http, "GET", "/rest/v1/activities.json", params={"nextPageToken": tok})
    assert error_code(no_types) == "701"
    eleven = ",".join(str(i) for i in range(1, 12))
    too_many_types = await call(
        http,
        "GET",
        "/rest/v1/activities.json",
        params={"nextPageToken": tok, "activityTypeIds": eleven},
    )
    assert error_code(too_many_types) == "1003"
    leads = ",".join(str(i) for i in range(1, 32))
    too_many_leads = await call(
        http,
        "GET",
        "/rest/v1/activities.json",
        params={"nextPageToken": tok, "activityTypeIds": "12", "leadIds": leads},
    )
    assert error_code(too_many_leads) == "1003"
    big_batch = await call(
        http,
        "GET",
        "/rest/v1/activities.json",
        params={"nextPageToken": tok, "activityTypeIds": "12", "batchSize": 301},
    )
    assert error_code(big_batch) == "1003"


# ---------------------------------------------------------------------------- custom activities

EXT = "/rest/v1/activities/external"
TYPE = {
    "apiName": "cadenceTest",
    "name": "Test Activity",
    "triggerName": "Does Test",
    "filterName": "Did Test",
    "primaryAttribute": {"apiName": "subject", "name": "Subject", "dataType": "string"},
}


def activity_row(type_id: int, lead_id: int = 1, **attrs: Any) -> dict[str, Any]:
    return {
        "leadId": lead_id,
        "activityDate": "2026-05-28T10:00:00+02:00",
        "activityTypeId": type_id,
        "primaryAttributeValue": "Hello",
        "attributes": [{"apiName": k, "value": v} for k, v in attrs.items()],
    }


async def test_custom_type_lifecycle_and_add_activities(http: httpx.AsyncClient) -> None:
    await sync(http, [{"email": "ann@example.com"}])
    created = await call(http, "POST", f"{EXT}/type.json", json=TYPE)
    ctype = created["result"][0]
    assert ctype["status"] == "draft" and ctype["id"] >= 100000
    type_id = ctype["id"]

    attrs = {
        "attributes": [
            {"apiName": "step", "name": "Step", "dataType": "integer"},
            {"apiName": "link", "name": "Link", "dataType": "link"},
        ]
    }
    with_attrs = await call(
        http, "POST", f"{EXT}/type/cadenceTest/attributes/create.json", json=attrs
    )
    assert [a["apiName"] for a in with_attrs["result"][0]["attributes"]] == ["step", "link"]

    draft_only = await call(http, "POST", f"{EXT}.json", json={"input": [activity_row(type_id)]})
    assert draft_only["result"][0]["status"] == "skipped"
    assert draft_only["result"][0]["errors"][0]["code"] == "1003"
    assert error_code(await call(http, "GET", f"{EXT}/type/cadenceTest/describe.json")) == "702"
    draft = await call(
        http, "GET", f"{EXT}/type/cadenceTest/describe.json", params={"draft": "true"}
    )
    assert draft["result"][0]["primaryAttribute"]["apiName"] == "subject"

    approved = await call(http, "POST", f"{EXT}/type/cadenceTest/approve.json")
    assert approved["result"][0]["status"] == "approved"
    listed = await call(http, "GET", f"{EXT}/types.json")
    assert [(t["apiName"], t["status"]) for t in listed["result"]] == [("cadenceTest", "approved")]
    types = await call(http, "GET", "/rest/v1/activities/types.json")
    assert any(t.get("apiName") == "cadenceTest" and t["id"] == type_id for t in types["result"])

    rows = [
        activity_row(type_id, step=3, link="https://x.test/a"),
        {**activity_row(type_id), "attributes": [{"name": "Step", "value": "4"}]},
        activity_row(type_id, lead_id=404),
        activity_row(type_id, color="red"),
        {**activity_row(type_id), "activityDate": "not a date"},
        {k: v for k, v in activity_row(type_id).items() if k != "primaryAttributeValue"},
    ]
    added = await call(http, "POST", f"{EXT}.json", json={"input": rows})
    result = added["result"]
    assert [r["status"] for r in result] == [
        "added",
        "added",
        "skipped",
        "skipped",
        "skipped",
        "skipped",
    ]
    assert set(result[0]) == {"id", "marketoGUID", "status"}
    assert result[2]["errors"] == [{"code": "1004", "message": "Lead not found"}]
    assert [r["errors"][0]["code"] for r in result[3:]] == ["1006", "1001", "1002"]

    stored = (await http.get("/_fake/activities", params={"apiName": "cadenceTest"})).json()
    assert [(a["apiName"], a["attributes"]) for a in stored] == [
        ("cadenceTest", {"step": 3, "link": "https://x.test/a"}),
        ("cadenceTest", {"step": 4}),
    ]
    assert stored[0]["activityDate"] == "2026-05-28T08:00:00Z"

    tok = (
        await call(
            http,
            "GET",
            "/rest/v1/activities/pagingtoken.json",
            params={"sinceDatetime": "2026-05-01T00:00:00Z"},
        )
    )["nextPageToken"]
    page = await call(
        http,
        "GET",
        "/rest/v1/activities.json",
        params={"nextPageToken": tok, "activityTypeIds": str(type_id)},
    )
    assert [a["marketoGUID"] for a in page["result"]] == [r["marketoGUID"] for r in result[:2]]
    assert {"name": "Step", "apiName": "step", "value": 3} in page["result"][0]["attributes"]

    # An approved type with new attributes becomes "approved with draft" and still accepts rows.
    more = {"attributes": [{"apiName": "extra", "name": "Extra", "dataType": "string"}]}
    await call(http, "POST", f"{EXT}/type/cadenceTest/attributes/create.json", json=more)
    listed = await call(http, "GET", f"{EXT}/types.json")
    assert listed["result"][0]["status"] == "approved with draft"
    again = await call(http, "POST", f"{EXT}.json", json={"input": [activity_row(type_id)]})
    assert again["result"][0]["status"] == "added"


async def test_custom_type_limits(http: httpx.AsyncClient) -> None:
    for i in range(10):
        body = await call(
            http,
            "POST",
            f"{EXT}/type.json",
            json={
                **TYPE,
                "apiName": f"t{i}",
                "name": f"T {i}",
                "triggerName": f"Trig {i}",
                "filterName": f"Filt {i}",
            },
        )
        assert body["success"], body
    eleventh = {**TYPE, "apiName": "t10", "name": "T 10", "triggerName": "x", "filterName": "y"}
    assert error_code(await call(http, "POST", f"{EXT}/type.json", json=eleventh)) == "1027"
    attrs = [{"apiName": f"a{i}", "name": f"A {i}", "dataType": "string"} for i in range(21)]
    too_many = await call(
        http, "POST", f"{EXT}/type/t0/attributes/create.json", json={"attributes": attrs}
    )
    assert error_code(too_many) == "1028"
    # Marketo reads "attributes"; the singular key of a wrong client adds nothing.
    singular = await call(
        http, "POST", f"{EXT}/type/t0/attributes/create.json", json={"attribute": attrs[:1]}
    )
    assert error_code(singular) == "701"
    draft = await call(http, "GET", f"{EXT}/type/t0/describe.json", params={"draft": "true"})
    assert draft["result"][0]["attributes"] == []
    missing = await call(http, "POST", f"{EXT}/type.json", json={"apiName": "x"})
    assert error_code(missing) == "701"
    rows = {"input": [activity_row(100001)] * 301}
    assert error_code(await call(http, "POST", f"{EXT}.json", json=rows)) == "1003"


# ---------------------------------------------------------------------------- faults and state


async def test_fault_injection(http: httpx.AsyncClient) -> None:
    tok = await token(http)
    auth = {"Authorization": f"Bearer {tok}"}
    await http.post("/_fake/faults", json={"code": "502", "count": 1, "path_contains": "describe"})
    assert (await call(http, "GET", "/rest/v1/activities/types.json", tok=tok))["success"]
    gateway = await http.get("/rest/v1/leads/describe.json", headers=auth)
    assert gateway.status_code == 502 and "html" in gateway.headers["content-type"]
    assert (await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok))["success"]

    await http.post("/_fake/faults", json={"drop_after_commit": True, "count": 1})
    dropped = await http.post(
        "/rest/v1/leads.json", json={"input": [{"email": "a@b.c"}]}, headers=auth
    )
    assert dropped.status_code == 502 and dropped.content == b""
    assert [lead["email"] for lead in (await http.get("/_fake/leads")).json()] == ["a@b.c"]

    await http.post("/_fake/faults", json={"code": "611", "rate": 1.0})
    assert error_code(await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok)) == "611"
    assert error_code(await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok)) == "611"
    await http.delete("/_fake/faults")
    assert (await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok))["success"]
    assert (await http.post("/_fake/faults", json={"code": "999"})).status_code == 400

    revoked = (await http.post("/_fake/revoke-token")).json()["revoked"]
    assert revoked == [tok]
    assert error_code(await call(http, "GET", "/rest/v1/leads/describe.json", tok=tok)) == "601"
    assert await token(http) != tok


async def test_state_survives_a_restart(tmp_path: Path, clock: Clock) -> None:
    state_file = tmp_path / "marketo.json"
    _, http = build(clock, state_file=state_file)
    async with http:
        tok = await token(http)
        await sync(http, [{"email": "ann@example.com"}])
        await call(http, "POST", f"{EXT}/type.json", json=TYPE, tok=tok)
    _, http = build(clock, state_file=state_file)
    async with http:
        assert await token(http) == tok  # the same token is still valid
        lead = await call(http, "GET", "/rest/v1/lead/1.json", tok=tok)
        assert lead["result"][0]["email"] == "ann@example.com"
        assert (await sync(http, [{"email": "bob@example.com"}])) == [
            {"id": 2, "status": "created"}
        ]
        types = await call(http, "GET", f"{EXT}/types.json", tok=tok)
        assert [t["apiName"] for t in types["result"]] == ["cadenceTest"]
        await http.post("/_fake/reset")
        assert (await http.get("/_fake/leads")).json() == []


# ---------------------------------------------------------------------------- bulk lead extract


async def test_a_bulk_export_runs_on_marketos_clock_and_returns_a_csv(clock: Clock) -> None:
    _, http = build(clock)
    async with http:
        await sync(http, [{"email": f"p{i}@example.com", "firstName": f"P{i}"} for i in range(5)]
                   + [{"email": "nameless@example.com"}])  # fmt: skip
        window = {"startAt": "2026-01-01T00:00:00Z", "endAt": "2026-12-31T00:00:00Z"}
        too_long = await call(http, "POST", "/bulk/v1/leads/export/create.json", json={
            "fields": ["id", "email"], "filter": {"createdAt": window}})  # fmt: skip
        assert error_code(too_long) == "1003" and "31 days" in too_long["errors"][0]["message"]
        now = datetime.fromtimestamp(clock.now, UTC)
        window = {"startAt": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "endAt": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
        created = await call(http, "POST", "/bulk/v1/leads/export/create.json", json={
            "fields": ["id", "email", "firstName"], "filter": {"createdAt": window},
            "columnHeaderNames": {"firstName": "First Name"}})  # fmt: skip
        job = created["result"][0]
        assert job["status"] == "Created" and job["format"] == "CSV"
        base = f"/bulk/v1/leads/export/{job['exportId']}"
        early = await call(http, "GET", f"{base}/file.json")
        assert error_code(early) == "1003"
        assert (await call(http, "POST", f"{base}/enqueue.json"))["result"][0]["status"] == "Queued"
        states = []
        for _ in range(3):  # the status moves at most once a minute
            states.append((await call(http, "GET", f"{base}/status.json"))["result"][0]["status"])
            clock.advance(60)
        assert states == ["Queued", "Processing", "Completed"]
        done = (await call(http, "GET", f"{base}/status.json"))["result"][0]
        assert done["numberOfRecords"] == 6
        tok = await token(http)
        got = await http.get(f"{base}/file.json", headers={"Authorization": f"Bearer {tok}"})
        lines = got.text.splitlines()
        assert lines[0] == "id,email,First Name"
        assert lines[1] == "1,p0@example.com,P0" and lines[-1] == "6,nameless@example.com,null"
        part = await http.get(f"{base}/file.json", headers={
            "Authorization": f"Bearer {tok}", "Range": "bytes=0-9"})  # fmt: skip
        assert part.status_code == 206 and part.content == got.content[:10]
        assert part.headers["content-range"] == f"bytes 0-9/{len(got.content)}"
        listed = await call(
            http, "GET", "/bulk/v1/leads/export.json", params={"status": "Completed"}
        )
        assert [j["exportId"] for j in listed["result"]] == [job["exportId"]]


async def test_a_bulk_export_has_the_location_fields(clock: Clock) -> None:
    app, http = build(clock)
    async with http:
        (made,) = await sync(http, [{"email": "ada@example.com", "country": "United States",
                                     "state": "NY", "city": "New York", "postalCode": "10001",
                                     "mobilePhone": "+1 212 555 0100"}])  # fmt: skip
        app.state.fake.fake_web_visit(made["id"], {"inferredCountry": "United States",
                                                   "inferredStateRegion": "New York"})  # fmt: skip
        now = datetime.fromtimestamp(clock.now, UTC)
        window = {"startAt": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "endAt": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
        fields = ["id", *LOCATION, *INFERRED]
        created = await call(http, "POST", "/bulk/v1/leads/export/create.json",
                             json={"fields": fields, "filter": {"createdAt": window}})  # fmt: skip
        base = f"/bulk/v1/leads/export/{created['result'][0]['exportId']}"
        await call(http, "POST", f"{base}/enqueue.json")
        for _ in range(3):
            await call(http, "GET", f"{base}/status.json")
            clock.advance(60)
        tok = await token(http)
        got = await http.get(f"{base}/file.json", headers={"Authorization": f"Bearer {tok}"})
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert rows == [{
        "id": str(made["id"]), "country": "United States", "state": "NY", "city": "New York",
        "postalCode": "10001", "mobilePhone": "+1 212 555 0100",
        "inferredCountry": "United States", "inferredStateRegion": "New York",
        "inferredCity": "null", "inferredPostalCode": "null",
    }]  # fmt: skip


async def test_bulk_limits_two_processing_ten_queued_and_disabled_filters(clock: Clock) -> None:
    _, http = build(clock, bulk_disabled_filters=frozenset({"updatedAt"}))
    async with http:
        now = datetime.fromtimestamp(clock.now, UTC)
        window = {"startAt": (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "endAt": now.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
        disabled = await call(http, "POST", "/bulk/v1/leads/export/create.json",
                              json={"fields": ["id"], "filter": {"updatedAt": window}})  # fmt: skip
        assert error_code(disabled) == "1035"
        ids = []
        for _ in range(11):
            made = await call(http, "POST", "/bulk/v1/leads/export/create.json",
                              json={"fields": ["id"], "filter": {"createdAt": window}})  # fmt: skip
            ids.append(made["result"][0]["exportId"])
        for export_id in ids[:10]:
            queued = await call(http, "POST", f"/bulk/v1/leads/export/{export_id}/enqueue.json")
            assert queued["success"]
        full = await call(http, "POST", f"/bulk/v1/leads/export/{ids[10]}/enqueue.json")
        assert error_code(full) == "1029" and "Too many jobs" in full["errors"][0]["message"]
        clock.advance(60)
        states = [(await call(http, "GET", f"/bulk/v1/leads/export/{i}/status.json"))["result"][0]
                  ["status"] for i in ids[:10]]  # fmt: skip
        assert states.count("Processing") == 2 and states.count("Queued") == 8
        canceled = await call(http, "POST", f"/bulk/v1/leads/export/{ids[9]}/cancel.json")
        assert canceled["result"][0]["status"] == "Canceled"


async def test_identity_tells_an_unknown_client_from_a_wrong_secret(
    http: httpx.AsyncClient,
) -> None:
    grant = {"grant_type": "client_credentials"}
    params = {**grant, "client_id": "who", "client_secret": SECRET}
    unknown = await http.get("/identity/oauth/token", params=params)
    assert unknown.status_code == 401
    assert unknown.json() == {"error": "invalid_client",
                              "error_description": "No client with requested id: who"}  # fmt: skip


async def test_a_query_string_token_is_refused_unless_the_instance_takes_it(clock: Clock) -> None:
    for accepts, expected in ((False, "601"), (True, None)):
        _, http = build(clock, accept_query_token=accepts)
        async with http:
            tok = await token(http)
            body = (await http.get("/rest/v1/activities/types.json",
                                   params={"access_token": tok})).json()  # fmt: skip
            assert (body["success"] if expected is None else error_code(body)) == (
                True if expected is None else expected)  # fmt: skip


async def test_the_native_sales_insight_types_are_listed_by_name(http: httpx.AsyncClient) -> None:
    types = (await call(http, "GET", "/rest/v1/activities/types.json"))["result"]
    names = {t["name"] for t in types}
    assert {"Send Sales Email", "Replied to Sales Email", "Received Sales Call",
            "Add to Sales Campaign", "Remove from Sales Campaign"} <= names  # fmt: skip


async def test_the_root_page_shows_what_the_fake_holds_and_its_admin_endpoints(
    http: httpx.AsyncClient,
) -> None:
    await sync(http, [{"email": "ada@example.com"}, {"email": "bob@example.com"}])
    page = await http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<td>leads</td><td>2</td>" in page.text
    assert "<td>custom activities (/_fake/activities)</td><td>0</td>" in page.text
    assert "<td>native activities (New Lead, Change Data Value, ...)</td><td>2</td>" in page.text
    for endpoint in ("/_fake/leads", "/_fake/activities", "/_fake/faults", "/_fake/reset"):
        assert f"<code>{endpoint}</code>" in page.text
    assert "The activities logged (filters: apiName, leadId)." in page.text
