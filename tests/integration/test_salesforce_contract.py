"""The fake Salesforce driven by simple-salesforce, a client nobody here wrote, the way an
integrator uses it. Expectations are Salesforce's documented answers (REST API Developer Guide:
dome_sobject_*, resources_query*, resources_composite_*, resources_limits, errorcodes), not what
our own client happens to need.

The one patch: simple-salesforce only speaks https to ``*.salesforce.com`` and the instance, so
its requests session gets a transport adapter that sends every https request to the fake's
plain-http loopback address (`ToFake`). Nothing else in the client is changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import requests
import uvicorn
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, SFType
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from devstack.fakes.salesforce import create_app
from tests.utils.net import free_port

CID, SECRET = "contract-client", "contract-secret"
KEY = "Cadence_Activity_Key__c"


class ToFake(HTTPAdapter):
    """Send https://<anything>/path to http://<the fake>/path (the fake has no TLS, no DNS)."""

    def __init__(self, netloc: str) -> None:
        super().__init__()
        self.netloc = netloc

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        request.url = urlunsplit(("http", self.netloc, parts.path, parts.query, ""))
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def fake_url() -> Iterator[str]:
    port = free_port()
    app = create_app(CID, SECRET, query_batch_size=3)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def sf(fake_url: str) -> Salesforce:
    """A client logged in with the client-credentials flow, as on a My Domain org."""
    httpx.post(f"{fake_url}/_fake/reset").raise_for_status()
    session = requests.Session()
    session.mount("https://", ToFake(urlsplit(fake_url).netloc))
    return Salesforce(consumer_key=CID, consumer_secret=SECRET, domain="cadence-dev.my",
                      session=session, version="62.0")  # fmt: skip


def sobject(sf: Salesforce, name: str) -> SFType:
    """``sf.<name>``, the integrator's spelling: simple-salesforce types that attribute as
    ``SFType | SFBulkHandler | SFBulk2Handler`` (``bulk``, ``bulk2`` are the handlers)."""
    handler = getattr(sf, name)
    assert isinstance(handler, SFType)
    return handler


def answered(answer: Any | None) -> Any:
    """A JSON answer simple-salesforce types as Optional (None for an empty body)."""
    assert answer is not None
    return answer


def lead(sf: Salesforce, name: str, **fields: Any) -> str:
    made = sobject(sf, "Lead").create({"LastName": name, "Company": "Acme", **fields})
    assert made["success"] and made["errors"] == []
    return str(made["id"])


def error_code(exc: SalesforceError) -> str:
    content: Any = exc.content
    return str(content[0]["errorCode"])


# ---------------------------------------------------------------------------- login, limits


def test_login_with_client_credentials_reaches_the_instance(sf: Salesforce, fake_url: str) -> None:
    assert sf.session_id and sf.sf_instance == urlsplit(fake_url).netloc
    assert sf.auth_type == "client-credentials"


def test_limits_list_the_org_allocations_not_only_the_daily_api_requests(sf: Salesforce) -> None:
    limits = sf.limits()
    assert {"DailyApiRequests", "DailyBulkApiBatches", "DataStorageMB", "SingleEmail"} <= set(
        limits
    )
    assert all({"Max", "Remaining"} <= set(v) for v in limits.values())
    daily = limits["DailyApiRequests"]
    assert daily["Max"] - daily["Remaining"] == sf.api_usage["api-usage"].used


# ---------------------------------------------------------------------------- sObject rows


def test_create_get_update_delete_by_id(sf: Salesforce) -> None:
    lead_id = lead(sf, "Lovelace", Email="ada@acme.test")
    got = sobject(sf, "Lead").get(lead_id)
    assert got["attributes"]["type"] == "Lead" and got["Id"] == lead_id
    # every field of the object, unset ones as null (Salesforce leaves none out)
    described = {f["name"] for f in sobject(sf, "Lead").describe()["fields"]}
    assert described <= set(got) and got["Title"] is None and got["LastName"] == "Lovelace"
    assert sobject(sf, "Lead").update(lead_id, {"Title": "Countess"}) == 204
    assert sobject(sf, "Lead").get(lead_id)["Title"] == "Countess"
    assert sobject(sf, "Lead").delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as gone:
        sobject(sf, "Lead").get(lead_id)
    assert error_code(gone.value) in ("NOT_FOUND", "ENTITY_IS_DELETED")
    with pytest.raises(SalesforceResourceNotFound):
        sobject(sf, "Lead").delete(lead_id)


def test_get_with_fields_returns_those_and_refuses_an_unknown_one(sf: Salesforce) -> None:
    lead_id = lead(sf, "Hopper")
    got = sobject(sf, "Lead").get(lead_id, params={"fields": "LastName,Email"})
    assert {k for k in got if k != "attributes"} == {"LastName", "Email"}
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sobject(sf, "Lead").get(lead_id, params={"fields": "LastName,Nope__c"})
    assert error_code(bad.value) == "INVALID_FIELD" and "Nope__c" in str(bad.value.content)


def test_upsert_get_and_delete_by_external_id(sf: Salesforce) -> None:
    path = f"{KEY}/act-1"
    body = {"Subject": "Email: hello", "Status": "Completed"}
    assert sobject(sf, "Task").upsert(path, body) == 201  # created
    got = sobject(sf, "Task").get_by_custom_id(KEY, "act-1")
    assert got[KEY] == "act-1" and got["Subject"] == "Email: hello"
    assert sobject(sf, "Task").upsert(path, {"Subject": "Email: hello again"}) == 200  # updated
    assert sobject(sf, "Task").get_by_custom_id(KEY, "act-1")["Subject"] == "Email: hello again"
    answer = sobject(sf, "Task").upsert(path, {"Subject": "x"}, raw_response=True)
    assert answer.json() == {"id": got["Id"], "success": True, "errors": [], "created": False}
    assert sobject(sf, "Task").delete(path) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sobject(sf, "Task").get_by_custom_id(KEY, "act-1")
    with pytest.raises(SalesforceMalformedRequest) as not_external:
        sobject(sf, "Task").upsert("Subject/x", {"Status": "Completed"})
    assert error_code(not_external.value) == "INVALID_FIELD"


def test_upsert_by_id_updates_that_record(sf: Salesforce) -> None:
    lead_id = lead(sf, "Curie")
    assert sobject(sf, "Lead").upsert(f"Id/{lead_id}", {"Title": "Dr"}) == 200
    assert sobject(sf, "Lead").get(lead_id)["Title"] == "Dr"
    with pytest.raises(SalesforceResourceNotFound):
        sobject(sf, "Lead").upsert("Id/00Q000000000999AAA", {"Title": "Dr"})


def test_describe_the_org_and_an_object(sf: Salesforce) -> None:
    names = {o["name"] for o in answered(sf.describe())["sobjects"]}
    assert {"Task", "Lead", "Contact", "User"} <= names
    task = sobject(sf, "Task").describe()
    assert task["name"] == "Task" and task["keyPrefix"] == "00T"
    key = next(f for f in task["fields"] if f["name"] == KEY)
    assert key["externalId"] is True


# ---------------------------------------------------------------------------- query


def test_query_query_more_and_query_all(sf: Salesforce) -> None:
    ids = [lead(sf, f"L{i}", Email=f"p{i}@acme.test") for i in range(7)]
    first = sf.query("SELECT Id, Email FROM Lead ORDER BY Email")
    assert first["totalSize"] == 7 and not first["done"] and len(first["records"]) == 3
    more = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert [r["Email"] for r in more["records"]] == ["p3@acme.test", "p4@acme.test", "p5@acme.test"]
    everything = sf.query_all("SELECT Id FROM Lead")
    assert everything["totalSize"] == 7 and len(everything["records"]) == 7 and everything["done"]
    sobject(sf, "Lead").delete(ids[0])
    assert sf.query_all("SELECT Id FROM Lead")["totalSize"] == 6
    with_deleted = sf.query_all("SELECT Id, IsDeleted FROM Lead", include_deleted=True)
    assert with_deleted["totalSize"] == 7  # /queryAll includes deleted records
    assert [r["Id"] for r in with_deleted["records"] if r["IsDeleted"]] == [ids[0]]


def test_count_and_like(sf: Salesforce) -> None:
    for name in ("Lovelace", "Lovell", "Hopper"):
        lead(sf, name)
    counted = sf.query("SELECT COUNT() FROM Lead WHERE LastName LIKE 'lov%'")
    assert (counted["totalSize"], counted["records"]) == (2, [])
    rows = sf.query("SELECT LastName FROM Lead WHERE LastName LIKE 'Hop_er'")["records"]
    assert [r["LastName"] for r in rows] == ["Hopper"]


def test_bad_soql_is_a_malformed_query_and_an_unknown_column_invalid_field(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELEKT Id FROM Lead")
    assert error_code(malformed.value) == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.query("SELECT Nope FROM Lead")
    assert error_code(unknown.value) == "INVALID_FIELD"


# ------------------------------------------------------------------ collections, composite


def test_sobject_collections_create_get_update_upsert_delete(sf: Salesforce) -> None:
    rows = [
        {"attributes": {"type": "Lead"}, "LastName": f"C{i}", "Company": "Acme"} for i in range(3)
    ]
    made = answered(sf.restful("composite/sobjects", method="POST",
                               json={"allOrNone": True, "records": rows}))  # fmt: skip
    ids = [r["id"] for r in made]
    assert all(r["success"] for r in made)
    got = answered(
        sf.restful("composite/sobjects/Lead", params={"ids": ",".join(ids), "fields": "LastName"})
    )
    assert [r["LastName"] for r in got] == ["C0", "C1", "C2"]
    updated = answered(sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Lead"}, "Id": ids[0], "Title": "Boss"}]}))  # fmt: skip
    assert updated[0]["success"] and sobject(sf, "Lead").get(ids[0])["Title"] == "Boss"
    task = {"attributes": {"type": "Task"}, KEY: "k1", "Subject": "S", "Status": "Completed"}
    upserted = answered(sf.restful(f"composite/sobjects/Task/{KEY}", method="PATCH",
                                   json={"records": [task]}))  # fmt: skip
    assert upserted[0]["created"] is True
    both = {"ids": f"{ids[1]},{ids[2]}", "allOrNone": "false"}
    deleted = answered(sf.restful("composite/sobjects", method="DELETE", params=both))
    assert deleted == [{"id": ids[1], "success": True, "errors": []},
                       {"id": ids[2], "success": True, "errors": []}]  # fmt: skip
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 1


def test_composite_with_references(sf: Salesforce) -> None:
    base = f"/services/data/v{sf.sf_version}"
    request = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{base}/sobjects/Lead", "referenceId": "lead",
         "body": {"LastName": "Turing", "Company": "NPL"}},
        {"method": "GET", "url": f"{base}/sobjects/Lead/@{{lead.id}}?fields=LastName",
         "referenceId": "check"},
    ]}  # fmt: skip
    answer = answered(sf.restful("composite", method="POST", json=request))
    parts = answer["compositeResponse"]
    assert [p["httpStatusCode"] for p in parts] == [201, 200]
    assert parts[1]["body"]["LastName"] == "Turing"


# ---------------------------------------------------------------------------- what is not there


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "sobjects/Opportunity/describe"),  # an object the fake's org lacks
        ("GET", "search"),  # resources the fake does not implement
        ("POST", "composite/tree/Lead"),
        ("GET", "recent"),
        ("GET", "sobjects/Lead/00Q000000000999AAA"),  # a record that does not exist
    ],
)
def test_what_the_fake_lacks_answers_like_an_unknown_resource(
    sf: Salesforce, method: str, path: str
) -> None:
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.restful(path, method=method, json={} if method == "POST" else None)
    content: Any = missing.value.content
    assert content == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]


def test_a_method_a_resource_does_not_take_is_405(sf: Salesforce) -> None:
    with pytest.raises(SalesforceError) as refused:
        sf.restful("limits", method="DELETE")
    assert refused.value.status == 405 and error_code(refused.value) == "METHOD_NOT_ALLOWED"
