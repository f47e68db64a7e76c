"""Contract tests: the fake Marketo driven by a client nobody here wrote (marketorestpython,
pinned in the dev extra), the way an integrator uses it, over HTTP on loopback. Every response
the fake gives in these tests is checked against the response schemas of Marketo's published
OpenAPI descriptions (tests/fixtures/marketo/response_schemas.json says where they come from and
lists the two errata applied); a response that maps to no schema fails the test too.

The only patching marketorestpython needs is its host (it hard-codes
``https://<munchkin>.mktorest.com``): the ``mrp`` fixture points it at the fake.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import io
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import uvicorn
from marketorestpython.client import MarketoClient

from devstack.fakes.marketo import create_app
from tests.utils.net import free_port

CID, SECRET = "contract-client", "contract-secret"
SCHEMAS = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "marketo" / "response_schemas.json").read_text()
)
OAUTH_ERROR = {  # MKDOC error-codes.md: Identity answers HTTP 401 with the Spring OAuth shape
    "type": "object",
    "required": ["error", "error_description"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def _definitions() -> dict[str, Any]:
    """The published definitions with the listed errata applied (and nothing else)."""
    defs = json.loads(json.dumps(SCHEMAS["definitions"]))
    defs["Attribute"]["properties"]["value"] = SCHEMAS["errata"]["Attribute.value"]["applied"]
    defs["CustomActivity"]["required"] = SCHEMAS["errata"]["CustomActivity.required"]["applied"]
    return defs


DEFINITIONS = _definitions()
ROUTES = [
    (key.split(" ")[0], re.compile(re.sub(r"\{[^}]+\}", "[^/]+", key.split(" ")[1])), name)
    for key, name in SCHEMAS["paths"].items()
]


@dataclass
class Seen:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes


@dataclass
class Recorder:
    """Every response the fake sends, as it went on the wire (gzip undone)."""

    seen: list[Seen] = field(default_factory=list)

    def wrap(self, app: Any) -> Any:
        async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            start: dict[str, Any] = {}
            chunks: list[bytes] = []

            async def record(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body"):
                        headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
                        body = b"".join(chunks)
                        if headers.get("content-encoding") == "gzip":
                            body = gzip.decompress(body)
                        self.seen.append(
                            Seen(
                                scope["method"],
                                scope["path"],
                                start["status"],
                                headers.get("content-type", ""),
                                body,
                            )
                        )
                await send(message)

            await app(scope, receive, record)

        return asgi


def schema_for(method: str, path: str) -> str | None:
    for route_method, pattern, name in ROUTES:
        if route_method == method and pattern.fullmatch(path):
            return name
    return None


def check(seen: Seen) -> str:
    """Validate one response; returns the schema it was held to."""
    if seen.path.endswith("/file.json") and seen.status in (200, 206):
        assert seen.content_type.startswith("text/csv"), seen  # the export file, not JSON
        return "export file (CSV)"
    body = json.loads(seen.body)
    if seen.path == "/identity/oauth/token" and seen.status != 200:
        jsonschema.validate(body, OAUTH_ERROR)
        return "OAuth error"
    assert seen.status == 200, f"{seen.method} {seen.path}: HTTP {seen.status}"
    assert seen.content_type.startswith("application/json"), seen.content_type
    name = schema_for(seen.method, seen.path)
    if name is None:  # not a Marketo resource the fake implements: only "not found" will do
        assert body["success"] is False and body["errors"][0]["code"] in ("605", "610"), body
        name = "ResponseWithoutResult"
    jsonschema.Draft4Validator(
        {"definitions": DEFINITIONS, "$ref": f"#/definitions/{name}"}
    ).validate(body)
    return name


class FakeServer:
    def __init__(self, **kwargs: Any) -> None:
        self.recorder = Recorder()
        self.app = create_app(CID, SECRET, **kwargs)
        self.fake = self.app.state.fake
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.recorder.wrap(self.app), host="127.0.0.1", port=self.port,
            log_level="warning", lifespan="off",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()))

    def __enter__(self) -> FakeServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the fake Marketo did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    """The fake on loopback (bulk export status moving every 0.2 s instead of every minute);
    at the end, every response it sent must validate against the published schemas."""
    with FakeServer(bulk_step_s=0.2) as server:
        yield server
    assert server.recorder.seen, "no response recorded"
    held = [check(seen) for seen in server.recorder.seen]
    assert len(held) == len(server.recorder.seen)


@pytest.fixture
def mrp(fake: FakeServer) -> MarketoClient:
    """marketorestpython as an integrator sets it up; the one patch: its hard-coded host."""
    client = MarketoClient("123-ABC-456", CID, SECRET, requests_timeout=30)
    client.host = fake.base
    return client


def _refused(mrp: MarketoClient, method: str, **kwargs: Any) -> str:
    """The error code a call ends with (marketorestpython's execute() raises
    ``Exception({'message': ..., 'code': ...})`` for a response-level error)."""
    with pytest.raises(Exception) as err:
        mrp.execute(method=method, **kwargs)
    detail = err.value.args[0]
    assert isinstance(detail, dict), err.value
    return str(detail["code"])


def _since(minutes: int = 5) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


PEOPLE = [
    {
        "email": f"p{n}@contract.test",
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
        "title": "CTO",
        "company": f"Co{n}",
        "sfdcLeadId": f"00Q00000000000{n}AAA",
        "sfdcContactId": f"00300000000000{n}AAA",
        "sfdcAccountId": f"00100000000000{n}AAA",
        "sfdcOpptyId": f"00600000000000{n}AAA",
        "sfdcLeadOwnerId": f"00500000000000{n}AAA",
        "cookies": f"id:123-ABC-456&token:_mch-contract-{n}",
        "facebookId": f"fb{n}",
        "twitterId": f"tw{n}",
        "linkedInId": 7000 + n,
        "leadPartitionId": 1,
    }
    for n in range(1, 4)
]


def _create_people(mrp: MarketoClient) -> list[int]:
    result = mrp.execute(method="create_update_leads", leads=PEOPLE, action="createOnly")
    assert [r["status"] for r in result] == ["created"] * 3
    return [int(r["id"]) for r in result]


# ---------------------------------------------------------------------------- identity


def test_token_is_reused_until_it_expires_and_bad_credentials_are_refused(
    fake: FakeServer, mrp: MarketoClient
) -> None:
    mrp.authenticate()
    first = mrp.token
    assert mrp.token_type == "bearer" and 0 < mrp.expires_in <= 3599
    mrp.valid_until = None  # ask Identity again: the same token comes back
    mrp.authenticate()
    assert mrp.token == first
    wrong = MarketoClient("123-ABC-456", CID, "not-the-secret")
    wrong.host = fake.base
    with pytest.raises(Exception, match="Bad client credentials"):
        wrong.authenticate()


# ---------------------------------------------------------------------------- leads


def test_leads_create_update_and_lookup_by_every_filter_type(mrp: MarketoClient) -> None:
    ids = _create_people(mrp)
    updated = mrp.execute(
        method="create_update_leads",
        leads=[{"email": p["email"], "title": "CEO"} for p in PEOPLE],
        action="updateOnly",
        lookupField="email",
    )
    assert [(r["id"], r["status"]) for r in updated] == [(i, "updated") for i in ids]
    fields = ["email", "firstName", "title", "sfdcLeadOwnerId"]
    for filter_type, values in {
        "id": [str(i) for i in ids],
        "email": [str(p["email"]) for p in PEOPLE],
        **{
            name: [str(p[name]) for p in PEOPLE]
            for name in (
                "sfdcLeadId",
                "sfdcContactId",
                "sfdcAccountId",
                "sfdcOpptyId",
                "sfdcLeadOwnerId",
                "cookies",
                "facebookId",
                "twitterId",
                "linkedInId",
            )
        },
    }.items():
        # marketorestpython looks leads up with POST ?_method=GET, the query in a form body,
        # and sends a list of fields as repeated parameters.
        found = mrp.execute(
            method="get_multiple_leads_by_filter_type",
            filterType=filter_type,
            filterValues=values[:2],
            fields=fields,
        )
        assert sorted(lead["id"] for lead in found) == ids[:2], filter_type
        for lead in found:
            assert set(lead) == {"id", *fields}, (filter_type, lead)
            assert lead["title"] == "CEO"
    by_partition = mrp.execute(
        method="get_multiple_leads_by_filter_type",
        filterType="leadPartitionId", filterValues=["1"], fields=["email"],
    )  # fmt: skip
    assert sorted(lead["id"] for lead in by_partition) == ids
    one = mrp.execute(method="get_lead_by_id", id=ids[2], fields=["email", "company", "title"])
    assert one == [{"id": ids[2], "email": "p3@contract.test", "company": "Co3", "title": "CEO"}]
    unsupported = _refused(
        mrp, "get_multiple_leads_by_filter_type", filterType="firstName", filterValues=["First1"]
    )
    assert unsupported == "1011"


def test_repeated_query_parameters_keep_every_value(fake: FakeServer, mrp: MarketoClient) -> None:
    """The spec's array parameters (collectionFormat multi) may come repeated, as requests and
    most HTTP clients send a list: every value counts, none is dropped silently."""
    ids = _create_people(mrp)
    mrp.authenticate()
    auth = {"Authorization": f"Bearer {mrp.token}"}
    leads = requests.get(
        f"{fake.base}/rest/v1/leads.json",
        params=[("filterType", "id"), *(("filterValues", str(i)) for i in ids),
                ("fields", "email"), ("fields", "lastName")],
        headers=auth, timeout=10,
    ).json()  # fmt: skip
    assert [(x["id"], sorted(x)) for x in leads["result"]] == [
        (i, ["email", "id", "lastName"]) for i in ids
    ]
    token = mrp.execute(method="get_paging_token", sinceDatetime=_since())
    activities = requests.get(
        f"{fake.base}/rest/v1/activities.json",
        params=[("nextPageToken", token), ("activityTypeIds", "13"), ("activityTypeIds", "12"),
                ("leadIds", str(ids[0])), ("leadIds", str(ids[2]))],
        headers=auth, timeout=10,
    ).json()  # fmt: skip
    assert {(a["leadId"], a["activityTypeId"]) for a in activities["result"]} == {
        (ids[0], 12),
        (ids[2], 12),
    }


def test_describe(mrp: MarketoClient) -> None:
    fields = {f["rest"]["name"]: f for f in mrp.execute(method="describe")}
    assert {"email", "unsubscribed", "sfdcLeadOwnerId", "linkedInProfileURL"} <= set(fields)
    assert fields["id"]["rest"]["readOnly"] is True
    (api_lead,) = mrp.execute(method="describe2")
    searchable = {name for group in api_lead["searchableFields"] for name in group}
    assert {"email", "id", "sfdcLeadId"} <= searchable


# ---------------------------------------------------------------------------- activities


def test_activity_types_all_carry_a_primary_attribute(mrp: MarketoClient) -> None:
    types = {t["name"]: t for t in mrp.execute(method="get_activity_types")}
    assert types["New Lead"]["id"] == 12
    assert types["New Lead"]["primaryAttribute"] == {"name": "Lead ID", "dataType": "integer"}
    assert all("primaryAttribute" in t for t in types.values())


def test_custom_activity_types_attributes_and_adding_activities(mrp: MarketoClient) -> None:
    ids = _create_people(mrp)
    created = mrp.execute(
        method="create_custom_activity_type", apiName="contractSalesEmail",
        name="Contract Sales Email", triggerName="Gets Contract Sales Email",
        filterName="Got Contract Sales Email", primaryAttributeApiName="subject",
        primaryAttributeName="Subject",
    )  # fmt: skip
    assert created[0]["status"] == "draft"
    attrs = [
        {"apiName": "campaign", "name": "Campaign", "dataType": "string"},
        {"apiName": "step", "name": "Step", "dataType": "integer"},
    ]
    mrp.execute(method="create_custom_activity_type_attribute", apiName="contractSalesEmail",
                attributes=attrs)  # fmt: skip
    # not approved yet: no approved version to describe
    assert _refused(mrp, "describe_custom_activity_type", apiName="contractSalesEmail") == "702"
    draft = mrp.execute(method="describe_custom_activity_type", apiName="contractSalesEmail",
                        draft=True)  # fmt: skip
    assert [a["apiName"] for a in draft[0]["attributes"]] == ["campaign", "step"]
    approved = mrp.execute(method="approve_custom_activity_type", apiName="contractSalesEmail")
    assert approved[0]["status"] == "approved"
    (listed,) = mrp.execute(method="get_custom_activity_types")
    type_id = listed["id"]
    types = {t["id"]: t for t in mrp.execute(method="get_activity_types")}
    assert types[type_id]["apiName"] == "contractSalesEmail"
    when = datetime.now(UTC).replace(microsecond=0).isoformat()
    rows = [
        {"leadId": lead, "activityDate": when, "activityTypeId": type_id,
         "primaryAttributeValue": f"Hello {n}",
         "attributes": [{"apiName": "campaign", "value": "Q3"}, {"apiName": "step", "value": n}]}
        for n, lead in enumerate([*ids, 999_999], start=1)
    ]  # fmt: skip
    result = mrp.execute(method="add_custom_activities", input=rows)
    assert [r["status"] for r in result] == ["added"] * 3 + ["skipped"]
    assert result[3]["errors"][0]["code"] == "1004"
    found = mrp.execute(
        method="get_lead_activities", activityTypeIds=[str(type_id)], sinceDatetime=_since(),
        leadIds=[str(ids[0]), str(ids[1])], batchSize=1,
    )  # fmt: skip
    assert [(a["leadId"], a["primaryAttributeValue"]) for a in found] == [
        (ids[0], "Hello 1"),
        (ids[1], "Hello 2"),
    ]
    assert {a["name"]: a["value"] for a in found[0]["attributes"]} == {"Campaign": "Q3", "Step": 1}


def test_paging_tokens_and_lead_activities_page_by_page(mrp: MarketoClient) -> None:
    ids = _create_people(mrp)
    token = mrp.execute(method="get_paging_token", sinceDatetime=_since())
    pages = list(
        mrp.execute(
            method="get_lead_activities_yield",
            activityTypeIds=["12"],
            nextPageToken=token,
            batchSize=2,
        )
    )
    assert [len(p) for p in pages] == [2, 1]
    assert [a["leadId"] for page in pages for a in page] == ids
    assert _refused(mrp, "get_paging_token", sinceDatetime="last tuesday") == "704"


def test_lead_changes(mrp: MarketoClient) -> None:
    ids = _create_people(mrp)
    token = mrp.execute(method="get_paging_token", sinceDatetime=_since())
    mrp.execute(method="create_update_leads", action="updateOnly", lookupField="id",
                leads=[{"id": ids[0], "title": "CFO", "company": "NewCo"},
                       {"id": ids[1], "phone": "+1 212 555 0100"}])  # fmt: skip
    changes = mrp.execute(method="get_lead_changes", fields=["title", "company"],
                          nextPageToken=token)  # fmt: skip
    new_leads = [c["leadId"] for c in changes if c["activityTypeId"] == 12]
    assert new_leads == ids
    changed = [(c["leadId"], f) for c in changes if c["activityTypeId"] == 13 for f in c["fields"]]
    assert sorted((lead, f["name"], f["newValue"], f["oldValue"]) for lead, f in changed) == [
        (ids[0], "company", "NewCo", "Co1"),
        (ids[0], "title", "CFO", "CTO"),
    ]  # the phone change is not among the fields asked for


# ---------------------------------------------------------------------------- bulk


def test_bulk_lead_extract_end_to_end(fake: FakeServer, mrp: MarketoClient) -> None:
    ids = _create_people(mrp)
    now = datetime.now(UTC).replace(microsecond=0)
    window = {"createdAt": {"startAt": (now - timedelta(days=1)).isoformat(),
                            "endAt": (now + timedelta(minutes=1)).isoformat()}}  # fmt: skip
    (job,) = mrp.execute(method="create_leads_export_job", fields=["id", "email", "title"],
                         filters=window)  # fmt: skip
    export_id = job["exportId"]
    assert job["status"] == "Created"
    mrp.execute(method="enqueue_leads_export_job", job_id=export_id)
    deadline = time.monotonic() + 20
    while (status := mrp.execute(method="get_leads_export_job_status", job_id=export_id)[0])[
        "status"
    ] != "Completed":
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    data = mrp.execute(method="get_leads_export_job_file", job_id=export_id)
    assert status["fileChecksum"] == hashlib.sha256(data).hexdigest()
    assert status["numberOfRecords"] == 3 and status["fileSize"] == len(data)
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert [(int(r["id"]), r["email"]) for r in rows] == [
        (i, p["email"]) for i, p in zip(ids, PEOPLE, strict=True)
    ]
    (other,) = mrp.execute(method="create_leads_export_job", fields=["id"], filters=window)
    mrp.execute(method="enqueue_leads_export_job", job_id=other["exportId"])
    mrp.execute(method="cancel_leads_export_job", job_id=other["exportId"])
    listed = mrp.execute(method="get_leads_export_jobs_list")
    assert {j["exportId"]: j["status"] for j in listed} == {
        export_id: "Completed",
        other["exportId"]: "Canceled",
    }
    mrp.authenticate()

    def by_status(*statuses: str) -> set[str]:
        resp = requests.get(
            f"{fake.base}/bulk/v1/leads/export.json",
            params=[("status", s) for s in statuses],
            headers={"Authorization": f"Bearer {mrp.token}"}, timeout=10,
        )  # fmt: skip
        return {j["exportId"] for j in resp.json()["result"]}

    # The spec's enum is lower case ("cancelled"); the docs also write "Canceled".
    assert by_status("completed") == {export_id}
    assert by_status("cancelled") == by_status("Canceled") == {other["exportId"]}
    assert by_status("Completed", "cancelled") == {export_id, other["exportId"]}


# ---------------------------------------------------------------------------- not implemented


def test_what_the_fake_lacks_is_an_unknown_resource(fake: FakeServer, mrp: MarketoClient) -> None:
    """Marketo answers a resource it does not know with 610 (HTTP 200, the envelope): the fake
    does the same for the endpoints it does not implement, whatever the body or content type,
    never an error of another category (601, 609, 612...)."""
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("get_deleted_leads", "deleted leads", {"sinceDatetime": _since()}),
        ("get_lead_partitions", "partitions", {}),
        ("get_multiple_leads_by_list_id", "list members", {"listId": 1}),
        ("create_activities_export_job", "activity export", {"filters": {"createdAt": {}}}),
    ]
    for method, name, kwargs in calls:
        assert _refused(mrp, method, **kwargs) == "610", name
    mrp.authenticate()
    resp = requests.post(
        f"{fake.base}/rest/v1/opportunities/roles.json", data="not json",
        headers={"Authorization": f"Bearer {mrp.token}", "Content-Type": "text/plain"},
        timeout=10,
    )  # fmt: skip
    assert resp.status_code == 200 and resp.json()["errors"][0]["code"] == "610"
