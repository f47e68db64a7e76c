"""The fake Salesforce's REST resources under ``/services/data/vXX.X/``: limits, query,
sObjects, composite and sObject Collections, as a table of (method, path, handler).

Every call goes through `data_router`'s one route: version check, session, the API allocation,
injected faults, the JSON body, then the handler under the state lock (a write is saved).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from devstack.fakes.salesforce_objects import (
    OBJECTS,
    RecordError,
    SfError,
    all_fields,
    check_fields,
    describe,
    describe_global,
    not_found,
)

if TYPE_CHECKING:
    from devstack.fakes.salesforce import FakeSalesforce

JSON_MEDIA_TYPE = "application/json;charset=UTF-8"
MIN_VERSION, MAX_VERSION = 52.0, 67.0
MAX_COLLECTION = 200
MAX_CHUNKS = 10  # runs of one sObject type in a collection
COMPOSITE_MAX, COMPOSITE_QUERIES = 25, 5
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)\.([A-Za-z0-9_.]+)\}")
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    "fields": [],
}
# /limits: the allocations of a fresh Enterprise org besides DailyApiRequests (Max = Remaining).
ORG_LIMITS = {
    "ConcurrentAsyncGetReportInstances": 200, "ConcurrentSyncReportRuns": 20,
    "DailyAsyncApexExecutions": 250_000, "DailyBulkApiBatches": 15_000,
    "DailyBulkV2QueryFileStorageMB": 976_562, "DailyBulkV2QueryJobs": 10_000,
    "DailyGenericStreamingApiEvents": 10_000, "DailyStreamingApiEvents": 1_000_000,
    "DailyWorkflowEmails": 1_000_000, "DataStorageMB": 5, "FileStorageMB": 20,
    "HourlyAsyncReportRuns": 1_200, "HourlyDashboardRefreshes": 200, "HourlyODataCallout": 10_000,
    "HourlySyncReportRuns": 500, "HourlyTimeBasedWorkflow": 1_000, "MassEmail": 5_000,
    "SingleEmail": 5_000, "StreamingApiConcurrentClients": 1_000,
}  # fmt: skip
HALTED = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same transaction "
    "failed.",
}


@dataclass
class Call:
    """One request to a resource: the path's captured parts, the JSON body, the query string."""

    match: re.Match[str]
    body: Any
    params: dict[str, str]
    base: str  # /services/data/vXX.X


Handler = Callable[[Call], Response]


def ok(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=JSON_MEDIA_TYPE)


def error_response(err: SfError) -> JSONResponse:
    item: dict[str, Any] = {"message": err.message, "errorCode": err.code}
    if err.fields:
        item["fields"] = err.fields
    return JSONResponse([item], status_code=err.status, media_type=JSON_MEDIA_TYPE)


class RestApi:
    """The resources and their handlers, over the org's state in `FakeSalesforce`."""

    def __init__(self, fake: FakeSalesforce) -> None:
        self.fake = fake
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (method, re.compile(pattern), handler)
            for method, pattern, handler in (
                ("GET", r"limits", self.limits),
                ("GET", r"(query|queryAll)", self.query),
                ("GET", r"(query|queryAll)/([^/]+)", self.query_more),
                ("GET", r"sobjects", self.describe_global),
                ("POST", r"sobjects/(\w+)", self.create),
                ("GET", r"sobjects/(\w+)/describe", self.describe),
                ("GET", r"sobjects/(\w+)/([^/]+)", self.get),
                ("PATCH", r"sobjects/(\w+)/([^/]+)", self.update),
                ("DELETE", r"sobjects/(\w+)/([^/]+)", self.delete),
                ("GET", r"sobjects/(\w+)/(\w+)/([^/]+)", self.get_by_external_id),
                ("PATCH", r"sobjects/(\w+)/(\w+)/([^/]+)", self.upsert),
                ("DELETE", r"sobjects/(\w+)/(\w+)/([^/]+)", self.delete_by_external_id),
                ("POST", r"composite", self.composite),
                ("POST", r"composite/sobjects", self.collection_create),
                ("PATCH", r"composite/sobjects", self.collection_update),
                ("DELETE", r"composite/sobjects", self.collection_delete),
                ("GET", r"composite/sobjects/(\w+)", self.collection_get),
                ("PATCH", r"composite/sobjects/(\w+)/(\w+)", self.collection_upsert),
            )
        ]

    def route(
        self, method: str, rest: str, body: Any, params: dict[str, str], base: str
    ) -> Response:
        allowed = []
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(rest)
            if match is not None and route_method == method:
                return handler(Call(match, body, params, base))
            if match is not None:
                allowed.append(route_method)
        if allowed:  # the resource exists, not with this method
            raise SfError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. "
                          f"Allowed are {','.join(sorted(set(allowed)))}")  # fmt: skip
        raise not_found()

    # -- limits ----------------------------------------------------------------------------
    def limits(self, call: Call) -> Response:
        """The org's allocations; only DailyApiRequests moves (the others are a fresh org's)."""
        daily = self.fake.daily_limit
        body = {name: {"Max": most, "Remaining": most} for name, most in ORG_LIMITS.items()}
        body["DailyApiRequests"] = {"Max": daily, "Remaining": daily - len(self.fake.calls)}
        return ok(dict(sorted(body.items())))

    # -- query -----------------------------------------------------------------------------
    def query(self, call: Call) -> Response:
        if "q" not in call.params:
            raise SfError(400, "MALFORMED_QUERY", "A query string has to be specified")
        rows, count_only = self.fake.query(
            call.params["q"], include_deleted=call.match[1] == "queryAll"
        )
        if count_only:
            return ok({"totalSize": len(rows), "done": True, "records": []})
        return ok(self.fake.page(call.base, rows, 0, secrets.token_hex(8)))

    def query_more(self, call: Call) -> Response:
        locator, _, offset = call.match[2].rpartition("-")
        stored = self.fake.locators.get(locator)
        if stored is None or not offset.isdigit():
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return ok(self.fake.page(call.base, stored, int(offset), locator))

    # -- sObjects --------------------------------------------------------------------------
    @staticmethod
    def _sobject(call: Call) -> str:
        sobject = call.match[1]
        if sobject not in OBJECTS:
            raise not_found()
        return sobject

    def create(self, call: Call) -> Response:
        sobject = self._sobject(call)
        if not isinstance(call.body, dict):
            raise SfError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        try:
            record = self.fake.create(sobject, call.body)
        except RecordError as err:
            raise err.as_request_error() from err
        return ok({"id": record["Id"], "success": True, "errors": []}, 201)

    def describe_global(self, call: Call) -> Response:
        return ok(describe_global(call.base))

    def describe(self, call: Call) -> Response:
        return ok(describe(self._sobject(call)))

    @staticmethod
    def _shown(sobject: str, record: dict[str, Any], call: Call) -> dict[str, Any]:
        """A record as GET answers it: the ``fields`` asked for, or every field (unset: null)."""
        wanted = [f.strip() for f in call.params.get("fields", "").split(",") if f.strip()]
        check_fields(sobject, wanted)
        url = f"{call.base}/sobjects/{sobject}/{record['Id']}"
        shown = {f: record.get(f) for f in wanted or all_fields(sobject)}
        return {"attributes": {"type": sobject, "url": url}, **shown}

    def get(self, call: Call) -> Response:
        sobject = self._sobject(call)
        return ok(self._shown(sobject, self.fake.get(sobject, call.match[2]), call))

    def delete(self, call: Call) -> Response:
        self.fake.delete(self._sobject(call), call.match[2])
        return Response(status_code=204)

    def _by_external_id(self, call: Call) -> tuple[str, str, list[dict[str, Any]]]:
        """(sObject, field, the records whose field has the value in the URL)."""
        sobject, field, value = self._sobject(call), call.match[2], call.match[3]
        if field == "Id":
            record = self.fake.records[sobject].get(value)
            return sobject, field, [record] if record else []
        if field not in OBJECTS[sobject]["external_ids"]:
            raise SfError(400, "INVALID_FIELD", f"Field name provided, {field} is not an External "
                          f"ID or indexed field for {sobject}")  # fmt: skip
        return sobject, field, self.fake.find(sobject, field, value)

    def _one(self, sobject: str, matches: list[dict[str, Any]], call: Call) -> dict[str, Any]:
        if not matches:
            raise not_found()
        if len(matches) > 1:  # Salesforce answers 300 with the URLs of the candidates
            urls = [f"{call.base}/sobjects/{sobject}/{r['Id']}" for r in matches]
            raise SfError(300, "MULTIPLE_CHOICES", " ".join(urls))
        return matches[0]

    def get_by_external_id(self, call: Call) -> Response:
        sobject, _, matches = self._by_external_id(call)
        return ok(self._shown(sobject, self._one(sobject, matches, call), call))

    def delete_by_external_id(self, call: Call) -> Response:
        sobject, _, matches = self._by_external_id(call)
        self.fake.delete(sobject, self._one(sobject, matches, call)["Id"])
        return Response(status_code=204)

    def upsert(self, call: Call) -> Response:
        """``PATCH sobjects/{type}/{field}/{value}``: 201 created, 200 updated (with a body)."""
        sobject, field, matches = self._by_external_id(call)
        if not isinstance(call.body, dict):
            raise SfError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        values = {k: v for k, v in call.body.items() if k != field}
        try:
            if field == "Id":
                record = self.fake.update(sobject, self._one(sobject, matches, call)["Id"], values)
                created = False
            else:
                record, created = self.fake.upsert(sobject, field, {**values, field: call.match[3]})
        except RecordError as err:
            raise err.as_request_error() from err
        answer = {"id": record["Id"], "success": True, "errors": [], "created": created}
        return ok(answer, 201 if created else 200)

    def update(self, call: Call) -> Response:
        sobject = self._sobject(call)
        self.fake.get(sobject, call.match[2])
        try:
            self.fake.update(sobject, call.match[2], call.body or {})
        except RecordError as err:
            raise err.as_request_error() from err
        return Response(status_code=204)

    # -- composite -------------------------------------------------------------------------
    def composite(self, call: Call) -> Response:
        """``POST /composite``: up to 25 subrequests (5 queries) in order, ``@{ref.field}``
        taken from earlier answers, one API call; with allOrNone a failure undoes them all."""
        body = call.body
        if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
            raise SfError(400, "JSON_PARSER_ERROR", "Expected {allOrNone, compositeRequest: [...]}")
        subs: list[Any] = body["compositeRequest"]
        if len(subs) > COMPOSITE_MAX:
            raise SfError(
                400, "INVALID_BATCH_REQUEST", f"at most {COMPOSITE_MAX} subrequests per composite"
            )
        queries = sum(1 for sub in subs if isinstance(sub, dict)
                      and "/query" in str(sub.get("url", "")))  # fmt: skip
        if queries > COMPOSITE_QUERIES:
            raise SfError(
                400, "INVALID_BATCH_REQUEST", f"at most {COMPOSITE_QUERIES} queries per composite"
            )
        all_or_none = bool(body.get("allOrNone"))
        snapshot = self.fake.snapshot()
        answers: dict[str, Any] = {}
        out: list[dict[str, Any]] = []
        failed = False
        for sub in subs:
            ref = str(sub.get("referenceId")) if isinstance(sub, dict) else ""
            if failed and all_or_none:
                out.append({"body": [HALTED], "httpHeaders": {}, "httpStatusCode": 400,
                            "referenceId": ref})  # fmt: skip
                continue
            try:
                status, content = self._subrequest(sub, answers, call.base)
                answers[ref] = content
                out.append({"body": content, "httpHeaders": {}, "httpStatusCode": status,
                            "referenceId": ref})  # fmt: skip
            except SfError as err:
                failed = True
                error: dict[str, Any] = {"errorCode": err.code, "message": err.message}
                if err.fields:
                    error["fields"] = err.fields
                out.append({"body": [error], "httpHeaders": {}, "httpStatusCode": err.status,
                            "referenceId": ref})  # fmt: skip
        if failed and all_or_none:
            self.fake.restore(snapshot)
        return ok({"compositeResponse": out})

    def _subrequest(self, sub: Any, answers: dict[str, Any], base: str) -> tuple[int, Any]:
        """Run one composite subrequest (references resolved): (status, JSON body)."""

        def resolve(text: str) -> str:
            def one(m: re.Match[str]) -> str:
                value: Any = answers.get(m[1])
                for key in m[2].split("."):
                    value = value.get(key) if isinstance(value, dict) else None
                if value is None:
                    raise SfError(400, "INVALID_REFERENCE", f"reference {m[0]} cannot be resolved")
                return str(value)

            return _REFERENCE.sub(one, text)

        if not isinstance(sub, dict) or not sub.get("method") or not sub.get("url"):
            raise SfError(400, "JSON_PARSER_ERROR", "each subrequest needs method and url")
        path, _, query = resolve(str(sub["url"])).partition("?")
        if not path.startswith(base + "/"):
            raise SfError(400, "INVALID_URL", f"{path} is not under {base}")
        sub_body = json.loads(resolve(json.dumps(sub.get("body")))) if sub.get("body") else None
        answer = self.route(str(sub["method"]).upper(), path[len(base) + 1 :], sub_body,
                            dict(parse_qsl(query)), base)  # fmt: skip
        return answer.status_code, json.loads(bytes(answer.body)) if answer.body else None

    # -- sObject Collections ---------------------------------------------------------------
    @staticmethod
    def _records(body: Any) -> list[Any]:
        """The records of a collection write, within the count and chunk limits."""
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SfError(400, "JSON_PARSER_ERROR", "Expected {allOrNone, records: [...]}")
        records: list[Any] = body["records"]
        if len(records) > MAX_COLLECTION:
            raise SfError(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more "
                          f"than {MAX_COLLECTION} records into this call")  # fmt: skip
        types = [_type_of(r) for r in records]
        chunks = sum(1 for i, t in enumerate(types) if i == 0 or t != types[i - 1])
        if chunks > MAX_CHUNKS:  # each run of one type is a chunk
            raise SfError(400, "EXCEEDED_MAX_TYPES_LIMIT",
                          "Cannot have more than 10 chunks in a single operation. Please "
                          "rearrange the data to reduce chunking.")  # fmt: skip
        return records

    def collection_create(self, call: Call) -> Response:
        records = self._records(call.body)
        return ok(self._save_all(records, bool(call.body.get("allOrNone")), "create"))

    def collection_update(self, call: Call) -> Response:
        records = self._records(call.body)
        return ok(self._save_all(records, bool(call.body.get("allOrNone")), "update"))

    def collection_get(self, call: Call) -> Response:
        """``GET composite/sobjects/{type}?ids=&fields=``: the records in order, null if absent."""
        sobject = self._sobject(call)
        ids = [i for i in call.params.get("ids", "").split(",") if i]
        if not call.params.get("fields"):
            raise SfError(400, "MISSING_ARGUMENT", "fields is required")
        if not ids or len(ids) > MAX_COLLECTION:
            raise SfError(400, "MISSING_ARGUMENT" if not ids else "EXCEEDED_ID_LIMIT",
                          f"ids: between 1 and {MAX_COLLECTION} ids")  # fmt: skip
        rows = [self.fake.records[sobject].get(i) for i in ids]
        return ok([self._shown(sobject, r, call) if r else None for r in rows])

    def collection_delete(self, call: Call) -> Response:
        """``DELETE composite/sobjects?ids=&allOrNone=``: one DeleteResult per id."""
        ids = [i for i in call.params.get("ids", "").split(",") if i]
        if not ids or len(ids) > MAX_COLLECTION:
            raise SfError(400, "MISSING_ARGUMENT" if not ids else "EXCEEDED_ID_LIMIT",
                          f"ids: between 1 and {MAX_COLLECTION} ids")  # fmt: skip
        snapshot = self.fake.snapshot()
        results: list[dict[str, Any]] = []
        for record_id in ids:
            sobject = next((t for t, rows in self.fake.records.items() if record_id in rows), None)
            if sobject is None:
                status = RecordError("ENTITY_IS_DELETED" if any(record_id in d for d in
                                     self.fake.deleted.values()) else "INVALID_CROSS_REFERENCE_KEY",
                                     "entity is deleted or invalid cross reference id")  # fmt: skip
                results.append({"id": record_id, "success": False, "errors": [status.as_status()]})
                continue
            self.fake.delete(sobject, record_id)
            results.append({"id": record_id, "success": True, "errors": []})
        if call.params.get("allOrNone", "").lower() == "true" and not all(
            r["success"] for r in results
        ):
            self.fake.restore(snapshot)
            results = [r if not r["success"] else {**r, "success": False, "errors": [ROLLED_BACK]}
                       for r in results]  # fmt: skip
        return ok(results)

    def collection_upsert(self, call: Call) -> Response:
        records = self._records(call.body)
        sobject, field = call.match[1], call.match[2]
        if sobject not in OBJECTS:
            raise not_found()
        if field not in OBJECTS[sobject]["external_ids"]:
            raise SfError(400, "INVALID_FIELD", f"Field name provided, {field} is not an External "
                          f"ID or indexed field for {sobject}")  # fmt: skip
        if any(_type_of(rec) != sobject for rec in records):
            raise SfError(400, "INVALID_INPUT", "All records must be of the type given in the URL")
        return ok(self._save_all(records, bool(call.body.get("allOrNone")), "upsert", field))

    def _save_all(
        self, records: list[Any], all_or_none: bool, how: str, field: str = ""
    ) -> list[dict[str, Any]]:
        """One SaveResult per record; with allOrNone one failure rolls them all back."""
        fake = self.fake
        snapshot = fake.snapshot()
        results: list[dict[str, Any]] = []
        lock_first, fake.lock_next_record = fake.lock_next_record, False
        duplicate_first, fake.duplicate_next_record = fake.duplicate_next_record, False
        for index, rec in enumerate(records):
            try:
                if not isinstance(rec, dict):
                    raise RecordError("JSON_PARSER_ERROR", "Expected a JSON object")
                if index == 0 and lock_first:
                    raise RecordError("UNABLE_TO_LOCK_ROW",
                                      "unable to obtain exclusive access to this record or 1 "
                                      "records")  # fmt: skip
                if index == 0 and duplicate_first:
                    raise RecordError("DUPLICATE_VALUE",
                                      "duplicate value found: <unknown> duplicates value on record "
                                      "with id: <unknown>")  # fmt: skip
                results.append(self._save_one(rec, how, field))
            except RecordError as err:
                results.append({"success": False, "errors": [err.as_status()]})
        if all_or_none and not all(r["success"] for r in results):
            fake.restore(snapshot)
            results = [r if not r["success"] else {"success": False, "errors": [ROLLED_BACK]}
                       for r in results]  # fmt: skip
        return results

    def _save_one(self, rec: dict[str, Any], how: str, field: str) -> dict[str, Any]:
        fake = self.fake
        sobject = _type_of(rec)
        if sobject not in OBJECTS:
            raise RecordError("INVALID_TYPE", f"sObject type '{sobject}' is not supported")
        if how == "update":
            record_id = rec.get("Id")
            if not isinstance(record_id, str) or record_id not in fake.records[sobject]:
                raise RecordError("ENTITY_IS_DELETED", f"entity is deleted: {record_id}")
            record = fake.update(sobject, record_id, {k: v for k, v in rec.items() if k != "Id"})
            return {"id": record["Id"], "success": True, "errors": []}
        if how == "create":
            record = fake.create(sobject, rec)
            return {"id": record["Id"], "success": True, "errors": []}
        record, created = fake.upsert(sobject, field, rec)
        return {"id": record["Id"], "success": True, "errors": [], "created": created}


def _type_of(record: Any) -> Any:
    return (record.get("attributes") or {}).get("type") if isinstance(record, dict) else None


def data_router(fake: FakeSalesforce) -> APIRouter:
    """``/services/data/``: the versions, and every resource through `RestApi`."""
    router = APIRouter()
    api = RestApi(fake)

    @router.get("/services/data/")
    async def versions() -> JSONResponse:
        items = []
        v = MIN_VERSION
        while v <= MAX_VERSION:
            items.append(
                {"version": f"{v:.1f}", "label": f"v{v:.1f}", "url": f"/services/data/v{v:.1f}"}
            )
            v += 1.0
        return ok(items)

    @router.api_route(
        "/services/data/{version}/{rest:path}", methods=["GET", "POST", "PATCH", "DELETE"]
    )
    async def data(request: Request, version: str, rest: str) -> Response:
        fake.requests += 1
        try:
            response = await _authorised(request, version, rest)
        except SfError as err:
            fake.errors[err.code] = fake.errors.get(err.code, 0) + 1
            response = error_response(err)
        response.headers["Sforce-Limit-Info"] = fake.limit_info()
        return response

    async def _authorised(request: Request, version: str, rest: str) -> Response:
        m = re.fullmatch(r"v(\d+\.\d)", version)
        if m is None or not MIN_VERSION <= float(m[1]) <= MAX_VERSION:
            raise not_found()
        fake.check_session(request.headers.get("authorization"))
        fake.count_call(request.url.path)
        number = id(request)
        fake.start_request(number)
        try:
            return await _counted(request, version, rest)
        finally:
            fake.in_flight.pop(number, None)

    async def _counted(request: Request, version: str, rest: str) -> Response:
        fault = fake.faults.take(request.url.path)
        if fault is not None:
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            fake.apply_fault(fault.code, request.method, request.url.path)
        body: Any = None
        raw = await request.body()
        if request.method in ("POST", "PATCH") and raw:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise SfError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc
        with fake.state.lock:
            base, params = f"/services/data/{version}", dict(request.query_params)
            response = api.route(request.method, rest.strip("/"), body, params, base)
            if request.method != "GET":
                fake.state.save()
        if fault is not None and fault.drop_after_commit:
            return Response(b"", status_code=502)
        return response

    return router
