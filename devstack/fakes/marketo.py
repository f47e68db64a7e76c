"""A fake Marketo REST API (Identity, leads, activities, custom activity types) for tests and
local runs.

It follows the real contracts closely: the Identity endpoint hands back the same token until it
expires (with ``expires_in`` counting down, even to 0), every ``/rest`` response is the standard
envelope with string error codes and HTTP 200 for response-level errors, record-level problems
are reported per row, and the instance-wide limits (100 calls / 20 s, 10 concurrent calls,
a daily quota resetting at midnight America/Chicago) are enforced.

Extra endpoints under ``/_fake/`` (not part of Marketo) inject faults and read state back.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import math
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.gzip import GZipMiddleware

from devstack.fakes.admin import FakeStats, Faults, admin_router
from devstack.fakes.marketo_bulk import BulkExports, BulkFail
from devstack.fakes.marketo_catalog import (
    CHANGE_DATA_VALUE,
    CUSTOM_ATTRIBUTE_TYPES,
    DEFAULT_LEAD_FIELDS,
    FIELDS_BY_ID,
    FIELDS_BY_NAME,
    FILTER_TYPES,
    LOOKUP_FIELDS,
    NEW_LEAD,
    STANDARD_ACTIVITY_TYPES,
    SYSTEM_FIELDS,
)
from devstack.fakes.state import JsonState
from devstack.fakes.times import iso_z as _iso

logger = logging.getLogger(__name__)
CHICAGO = ZoneInfo("America/Chicago")
JSON_MEDIA_TYPE = "application/json;charset=UTF-8"
MAX_BODY_BYTES = 1_048_576
MAX_URI_BYTES = 8192
MAX_BATCH = 300
MAX_CUSTOM_TYPES = 10
MAX_CUSTOM_ATTRIBUTES = 20
MAX_ATTRIBUTES_BYTES = 65_536
MAX_FILTER_MATCHES = 1000
API_USER = "cadence-api@fake-marketo.test"
# Response-level codes that are not counted against the rate limit or the daily quota.
UNCOUNTED = frozenset({"601", "602", "604", "605", "608", "611"})
# The errors a fault can inject (/_fake/faults), and what each answers.
FAULT_CODES = {
    "502": "HTTP 502 with an HTML page, as a gateway in front of Marketo answers",
    "604": "Request timed out",
    "606": "Max rate limit exceeded",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "611": "System error",
    "615": "Concurrent access limit reached",
    "713": "Transient Error",
}

ERROR_MESSAGES: dict[str, str] = {
    "601": "Access token invalid",
    "602": "Access token expired",
    "604": "Request timed out",
    "605": "Request method not supported",
    "606": "Max rate limit '%s' exceeded with in '%s' secs",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "609": "Invalid JSON",
    "610": "Requested resource not found",
    "611": "System error",
    "612": "Invalid Content Type",
    "615": "Concurrent access limit reached",
    "713": "Transient Error",
}
INFERRED_FIELDS = frozenset(
    name for name in FIELDS_BY_NAME if name.startswith("inferred") or name == "anonymousIP"
)
SYNC_ACTIONS = frozenset({"createOrUpdate", "createOnly", "updateOnly", "createDuplicate"})
API_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class _Fail(Exception):
    """A response-level error: HTTP 200, ``success: false``."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code, "Error")


class _Skip(Exception):
    """A record-level error: the row is skipped with this reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass
class _Req:
    params: dict[str, str]
    body: Any
    match: re.Match[str]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[[_Req], dict[str, Any] | Response]
    mutating: bool = False


@dataclass
class _Stats:
    requests: int = 0
    calls: int = 0
    identity_calls: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


def _parse_datetime(value: Any) -> datetime | None:
    """ISO-8601 with an offset or Z; a naive value is taken as UTC. None when unparseable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _encode_token(*parts: int | str) -> str:
    raw = ":".join(str(p) for p in parts).encode()
    return base64.b32encode(raw).decode().rstrip("=")


def _decode_token(token: str, prefix: str) -> list[str] | None:
    try:
        padded = token + "=" * (-len(token) % 8)
        parts = base64.b32decode(padded.upper()).decode().split(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return parts[1:] if parts and parts[0] == prefix else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


# Query parameters the spec types as arrays (swagger-mapi `collectionFormat: multi`): each may be
# repeated (`fields=a&fields=b`) or comma-separated (`fields=a,b`), or both.
MULTI_PARAMS = frozenset(
    {"filterValues", "fields", "activityTypeIds", "leadIds", "listIds", "assetIds", "status"}
)


def _params(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Query parameters by name: a multi-valued one keeps all its values (comma-joined, as the
    handlers split them), any other the last."""
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in MULTI_PARAMS and params.get(key):
            params[key] = f"{params[key]},{value}" if value else params[key]
        else:
            params[key] = value
    return params


class FakeMarketo:
    """The fake's state and request handling; `create_app` wires it into FastAPI."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        state_file: Path | None = None,
        *,
        token_ttl: int = 3600,
        rate_limit: int = 100,
        rate_window_s: float = 20.0,
        max_concurrency: int = 10,
        daily_quota: int = 50000,
        clock: Callable[[], float] = time.time,
        bulk_step_s: float = 60.0,
        bulk_disabled_filters: frozenset[str] = frozenset(),
        accept_query_token: bool = False,
    ) -> None:
        self.client_id = client_id
        # Marketo dropped ?access_token= for new integrations; some instances still take it.
        self.accept_query_token = accept_query_token
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.rate_limit = rate_limit
        self.rate_window_s = rate_window_s
        self.max_concurrency = max_concurrency
        self.daily_quota = daily_quota
        self.clock = clock
        self.state = JsonState(state_file, self._initial())
        self.faults = Faults(FAULT_CODES)
        self.window: deque[float] = deque()
        self.in_flight = 0
        self.stats = _Stats()
        self.pod = "ab"
        self.bulk = BulkExports(self._leads, frozenset(FIELDS_BY_NAME), clock, bulk_step_s,
                                bulk_disabled_filters)  # fmt: skip
        self.routes = self._routes()

    @staticmethod
    def _initial() -> dict[str, Any]:
        return {
            "leads": {},
            "next_lead_id": 1,
            "activities": [],
            "next_activity_id": 1,
            "custom_types": {},
            "next_type_id": 100001,
            "tokens": {},
            "current_token": None,
            "quota": {"day": "", "count": 0},
        }

    @property
    def data(self) -> dict[str, Any]:
        return self.state.data

    def reset(self) -> None:
        with self.state.lock:
            self.state.data = self._initial()
            self.state.save()
        self.faults.clear()
        self.window.clear()
        self.stats = _Stats()
        self.bulk.jobs.clear()

    # ------------------------------------------------------------------ identity

    def identity(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Client-credentials grant: the same token until it expires, then a new one."""
        self.stats.identity_calls += 1
        grant = params.get("grant_type")
        if grant != "client_credentials":
            return 400, {
                "error": "unsupported_grant_type" if grant else "invalid_request",
                "error_description": f"Unsupported grant type: {grant}"
                if grant
                else "Missing grant type",
            }
        if params.get("client_id") != self.client_id:
            return 401, {
                "error": "invalid_client",
                "error_description": f"No client with requested id: {params.get('client_id')}",
            }
        if params.get("client_secret") != self.client_secret:
            return 401, {"error": "unauthorized", "error_description": "Bad client credentials"}
        now = self.clock()
        with self.state.lock:
            tokens: dict[str, float] = self.data["tokens"]
            current = self.data["current_token"]
            if current is None or current not in tokens or tokens[current] <= now:
                current = f"{uuid.uuid4()}:{self.pod}"
                tokens[current] = now + self.token_ttl
                self.data["current_token"] = current
                for tok, exp in list(tokens.items()):
                    if exp < now - 86400:
                        del tokens[tok]
                self.state.save()
            # Like Marketo: a fresh token reports ttl - 1 (3599), the last second reports 0.
            expires_in = max(0, math.ceil(tokens[current] - now) - 1)
        return 200, {
            "access_token": current,
            "token_type": "bearer",
            "expires_in": expires_in,
            "scope": API_USER,
        }

    def revoke_tokens(self) -> list[str]:
        """Invalidate every token: the next use gets 601, Identity mints a new one."""
        with self.state.lock:
            revoked = list(self.data["tokens"])
            self.data["tokens"] = {}
            self.data["current_token"] = None
            self.state.save()
        return revoked

    def _auth_error(self, authorization: str | None) -> str | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return "601"
        token = authorization[7:].strip()
        expires_at = self.data["tokens"].get(token)
        if expires_at is None:
            return "601"
        if expires_at <= self.clock():
            return "602"
        return None

    # ------------------------------------------------------------------ limits and faults

    def _day(self) -> str:
        return datetime.fromtimestamp(self.clock(), CHICAGO).date().isoformat()

    def _quota(self) -> dict[str, Any]:
        quota: dict[str, Any] = self.data["quota"]
        day = self._day()
        if quota.get("day") != day:
            quota["day"], quota["count"] = day, 0
        return quota

    def _count(self, path: str, delta: int = 1) -> None:
        self._quota()["count"] += delta
        self.stats.calls += delta
        self.stats.by_path[path] = self.stats.by_path.get(path, 0) + delta

    # ------------------------------------------------------------------ envelope

    @staticmethod
    def _request_id() -> str:
        return f"{secrets.token_hex(2)[1:]}#{int(time.time() * 1000):x}"

    def _json(self, body: dict[str, Any], status: int = 200) -> JSONResponse:
        return JSONResponse(body, status_code=status, media_type=JSON_MEDIA_TYPE)

    def _error(self, code: str, message: str | None = None) -> JSONResponse:
        self.stats.errors[code] = self.stats.errors.get(code, 0) + 1
        if message is None:
            message = ERROR_MESSAGES.get(code, "Error")
            if code == "606":
                window = self.rate_window_s
                shown = int(window) if float(window).is_integer() else window
                message = message % (self.rate_limit, shown)
        return self._json(
            {
                "requestId": self._request_id(),
                "success": False,
                "result": [],
                "errors": [{"code": code, "message": message}],
                "warnings": [],
            }
        )

    def _success(self, payload: dict[str, Any]) -> JSONResponse:
        body: dict[str, Any] = {"requestId": self._request_id(), "success": True}
        body.update(payload)
        body.setdefault("errors", [])
        body.setdefault("warnings", [])
        return self._json(body)

    # ------------------------------------------------------------------ the /rest pipeline

    async def handle_rest(self, request: Request) -> Response:
        """Limits, auth, faults, content checks, then the endpoint itself."""
        self.stats.requests += 1
        path = request.url.path
        method = request.method
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return Response(b"Request Entity Too Large", status_code=413, media_type="text/plain")
        query = request.url.query
        if len(path) + len(query) + 1 > MAX_URI_BYTES:
            return Response(b"Request-URI Too Long", status_code=414, media_type="text/plain")
        pairs = list(request.query_params.multi_items())
        content_type = request.headers.get("content-type", "").lower()
        form: list[tuple[str, str]] = []
        if method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        # A long GET sent as POST: `_method=GET` in the query string or in the form body, the
        # query string's parameters in an application/x-www-form-urlencoded body.
        if method == "POST" and any(
            k == "_method" and v.upper() == "GET" for k, v in (*pairs, *form)
        ):
            pairs = [(k, v) for k, v in (*pairs, *form) if k != "_method"]
            method, raw = "GET", b""
        params = _params(pairs)
        query_token = params.pop("access_token", None)
        authorization = request.headers.get("authorization")
        if authorization is None and query_token and self.accept_query_token:
            authorization = f"Bearer {query_token}"
        auth_error = self._auth_error(authorization)
        if auth_error:
            return self._error(auth_error)
        if self._quota()["count"] >= self.daily_quota:
            return self._error("607")
        now = self.clock()
        while self.window and self.window[0] <= now - self.rate_window_s:
            self.window.popleft()
        if len(self.window) >= self.rate_limit:
            self._count(path)
            return self._error("606")
        if self.in_flight >= self.max_concurrency:
            self._count(path)
            return self._error("615")

        self.window.append(now)
        self._count(path)
        self.in_flight += 1
        try:
            response, code = await self._run(
                path, method, params, raw, content_type, dict(request.headers)
            )
        finally:
            self.in_flight -= 1
        if code in UNCOUNTED:
            self._count(path, -1)
            try:
                self.window.remove(now)
            except ValueError:
                pass
        return response

    async def _run(
        self,
        path: str,
        method: str,
        params: dict[str, str],
        raw: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> tuple[Response, str | None]:
        fault = self.faults.take(path)
        if fault is not None and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.code and not fault.drop_after_commit:
            if fault.code == "502":
                self.stats.errors["502"] = self.stats.errors.get("502", 0) + 1
                html = b"<html><head><title>502 Bad Gateway</title></head><body>502</body></html>"
                return Response(html, status_code=502, media_type="text/html"), "502"
            return self._error(fault.code), fault.code
        try:
            route, match = self._resolve(method, path)
            body: Any = None
            if method == "POST" and raw.strip():
                if not content_type.startswith("application/json"):
                    raise _Fail("612")
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise _Fail("609") from exc
            with self.state.lock:
                payload = route.handler(_Req(params, body, match, headers or {}))
                if route.mutating:
                    self.state.save()
        except _Fail as fail:
            return self._error(fail.code, fail.message), fail.code
        except BulkFail as fail:
            return self._error(fail.code, fail.message), fail.code
        except Exception:  # an unhandled bug in the fake behaves like Marketo's 611
            logger.exception("fake Marketo failed on %s %s", method, path)
            return self._error("611"), "611"
        if fault is not None and fault.drop_after_commit:
            return Response(b"", status_code=502), "502"
        if isinstance(payload, Response):  # a bulk export's file
            return payload, None
        return self._success(payload), None

    def _resolve(self, method: str, path: str) -> tuple[_Route, re.Match[str]]:
        wrong_method = False
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if route.method == method:
                return route, match
            wrong_method = True
        raise _Fail("605" if wrong_method else "610")

    def _routes(self) -> list[_Route]:
        def r(
            method: str,
            pattern: str,
            fn: Callable[[_Req], dict[str, Any] | Response],
            mut: bool = False,
        ) -> _Route:
            return _Route(method, re.compile(pattern), fn, mut)

        ext = r"/rest/v1/activities/external"
        bulk = r"/bulk/v1/leads/export"
        b = self.bulk
        return [
            r("POST", bulk + r"/create\.json", lambda q: b.create(self._body(q))),
            r("POST", bulk + r"/([^/]+)/enqueue\.json", lambda q: b.enqueue(q.match[1])),
            r("GET", bulk + r"/([^/]+)/status\.json", lambda q: b.status(q.match[1])),
            r("POST", bulk + r"/([^/]+)/cancel\.json", lambda q: b.cancel(q.match[1])),
            r(
                "GET",
                bulk + r"/([^/]+)/file\.json",
                lambda q: b.file(q.match[1], q.headers.get("range")),
            ),
            r("GET", bulk + r"\.json", lambda q: b.listing(_csv(q.params.get("status")))),
            r("POST", r"/rest/v1/leads\.json", self.sync_leads, True),
            r("GET", r"/rest/v1/leads\.json", self.get_leads),
            r("GET", r"/rest/v1/lead/(\d+)\.json", self.get_lead),
            r("GET", r"/rest/v1/leads/describe\.json", self.describe_leads),
            r("GET", r"/rest/v1/leads/describe2\.json", self.describe_leads2),
            r("GET", r"/rest/v1/activities/types\.json", self.activity_types),
            r("GET", r"/rest/v1/activities/pagingtoken\.json", self.paging_token),
            r("GET", r"/rest/v1/activities\.json", self.get_activities),
            r("GET", r"/rest/v1/activities/leadchanges\.json", self.get_lead_changes),
            r("GET", ext + r"/types\.json", self.custom_types),
            r("POST", ext + r"/type\.json", self.create_custom_type, True),
            r("POST", ext + r"/type/([^/]+)/attributes/create\.json", self.create_attrs, True),
            r("POST", ext + r"/type/([^/]+)/approve\.json", self.approve_type, True),
            r("GET", ext + r"/type/([^/]+)/describe\.json", self.describe_type),
            r("POST", ext + r"\.json", self.add_custom_activities, True),
            r("GET", r"/rest/v1/stats/usage\.json", self.usage),
        ]

    # ------------------------------------------------------------------ leads

    def _leads(self) -> dict[str, dict[str, Any]]:
        leads: dict[str, dict[str, Any]] = self.data["leads"]
        return leads

    @staticmethod
    def _body(req: _Req) -> dict[str, Any]:
        if req.body is None:
            return {}
        if not isinstance(req.body, dict):
            raise _Fail("609", "Invalid JSON: an object is required")
        return req.body

    @staticmethod
    def _fields_param(raw: str | None) -> list[str]:
        fields = _csv(raw) or list(DEFAULT_LEAD_FIELDS)
        for name in fields:
            if name not in FIELDS_BY_NAME:
                raise _Fail("1006", f"Field '{name}' not found")
        return fields

    @staticmethod
    def _project(lead: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": lead["id"]}
        for name in fields:
            value = lead.get(name)
            if value is not None:
                out[name] = value
        return out

    @staticmethod
    def _same(field_name: str, stored: Any, wanted: Any) -> bool:
        if stored is None or wanted is None:
            return False
        if field_name == "email":
            return str(stored).strip().lower() == str(wanted).strip().lower()
        if isinstance(stored, int) and not isinstance(stored, bool):
            return stored == _as_int(wanted)
        return str(stored) == str(wanted)

    def _add_activity(
        self,
        lead_id: int,
        type_id: int,
        primary: str | None,
        attributes: list[dict[str, Any]],
        *,
        when: float | None = None,
        primary_id: int | None = None,
        api_name: str | None = None,
    ) -> dict[str, Any]:
        ts = self.clock() if when is None else when
        activity_id = int(self.data["next_activity_id"])
        self.data["next_activity_id"] = activity_id + 1
        row: dict[str, Any] = {
            "id": activity_id,
            "marketoGUID": str(activity_id),
            "leadId": lead_id,
            "activityDate": _iso(ts),
            "activityTypeId": type_id,
        }
        if primary_id is not None:
            row["primaryAttributeValueId"] = primary_id
        if primary is not None:
            row["primaryAttributeValue"] = primary
        row["attributes"] = [a for a in attributes if a.get("value") not in (None, "")]
        row["_ms"] = int(ts * 1000)
        if api_name is not None:
            row["_apiName"] = api_name
        self.data["activities"].append(row)
        return row

    def _clean_lead_input(self, rec: dict[str, Any], lookup: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, value in rec.items():
            spec = FIELDS_BY_NAME.get(name)
            if spec is None:
                raise _Skip("1006", f"Field '{name}' not found")
            if name in SYSTEM_FIELDS and name != lookup:
                continue
            if spec.read_only and name not in SYSTEM_FIELDS:
                continue
            if value is None or value == "":
                values[name] = None
                continue
            if spec.data_type == "boolean":
                if isinstance(value, str) and value.lower() in ("true", "false"):
                    value = value.lower() == "true"
                if not isinstance(value, bool):
                    raise _Skip("1001", f"Invalid value type for field '{name}'")
            elif spec.data_type == "integer":
                as_int = _as_int(value)
                if as_int is None:
                    raise _Skip("1001", f"Invalid value type for field '{name}'")
                value = as_int
            elif isinstance(value, dict | list):
                raise _Skip("1001", f"Invalid value type for field '{name}'")
            elif spec.length is not None and isinstance(value, str) and len(value) > spec.length:
                raise _Skip("1003", f"Value for field '{name}' exceeds {spec.length} characters")
            values[name] = value
        return values

    def _sync_one(self, rec: Any, action: str, lookup: str) -> dict[str, Any]:
        if not isinstance(rec, dict):
            raise _Skip("1003", "Invalid record")
        values = self._clean_lead_input(rec, lookup)
        key = values.get(lookup)
        matches = []
        if action != "createDuplicate" and key is not None:
            matches = [
                lead for lead in self._leads().values() if self._same(lookup, lead.get(lookup), key)
            ]
        if len(matches) > 1:
            raise _Skip("1007", "Multiple lead match lookup criteria")
        if matches:
            if action == "createOnly":
                raise _Skip("1005", "Lead already exists")
            return self._update_lead(matches[0], values)
        if action == "updateOnly" or (lookup == "id" and key is not None):
            raise _Skip("1004", "Lead not found")
        return self._create_lead(values)

    def _create_lead(self, values: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        lead_id = int(self.data["next_lead_id"])
        self.data["next_lead_id"] = lead_id + 1
        lead: dict[str, Any] = {"id": lead_id}
        lead.update({k: v for k, v in values.items() if v is not None and k != "id"})
        lead["createdAt"] = lead["updatedAt"] = _iso(now)
        self._leads()[str(lead_id)] = lead
        name = " ".join(str(lead[k]) for k in ("firstName", "lastName") if lead.get(k))
        self._add_activity(
            lead_id,
            NEW_LEAD,
            name or lead.get("email") or str(lead_id),
            [
                {"name": "Source Type", "value": "Web service API"},
                {"name": "API Method Name", "value": "syncLead"},
                {"name": "Created Date", "value": _iso(now)[:10]},
                {"name": "Lead Source", "value": lead.get("leadSource")},
            ],
            primary_id=lead_id,
            when=now,
        )
        return {"id": lead_id, "status": "created"}

    def _update_lead(
        self, lead: dict[str, Any], values: dict[str, Any], reason: str = "Web service API"
    ) -> dict[str, Any]:
        now = self.clock()
        changed = False
        for name, new in values.items():
            if name in SYSTEM_FIELDS:
                continue
            old = lead.get(name)
            if old == new:
                continue
            if new is None:
                lead.pop(name, None)
            else:
                lead[name] = new
            changed = True
            spec = FIELDS_BY_NAME[name]
            self._add_activity(
                lead["id"],
                CHANGE_DATA_VALUE,
                spec.display_name,
                [
                    {"name": "New Value", "value": None if new is None else str(new)},
                    {"name": "Old Value", "value": None if old is None else str(old)},
                    {"name": "Reason", "value": reason},
                    {"name": "Source", "value": reason},
                    {
                        "name": "API Method Name",
                        "value": "syncLead" if reason == "Web service API" else None,
                    },
                ],
                primary_id=spec.id,
                when=now,
            )
        if changed:
            lead["updatedAt"] = _iso(now)
        return {"id": lead["id"], "status": "updated"}

    def sync_leads(self, req: _Req) -> dict[str, Any]:
        body = self._body(req)
        action = body.get("action") or "createOrUpdate"
        if action not in SYNC_ACTIONS:
            raise _Fail("1003", f"Invalid action '{action}'")
        lookup = body.get("lookupField") or "email"
        if lookup not in LOOKUP_FIELDS:
            raise _Fail("1003", f"Invalid lookupField '{lookup}'")
        records = body.get("input")
        if not records:
            raise _Fail("701", "input cannot be blank")
        if not isinstance(records, list):
            raise _Fail("1003", "input must be an array")
        if len(records) > MAX_BATCH:
            raise _Fail("1003", f"Too many records in input, the maximum is {MAX_BATCH}")
        result: list[dict[str, Any]] = []
        for rec in records:
            try:
                result.append(self._sync_one(rec, action, lookup))
            except _Skip as skip:
                reason = {"code": skip.code, "message": skip.message}
                result.append({"status": "skipped", "reasons": [reason]})
        return {"result": result}

    def get_lead(self, req: _Req) -> dict[str, Any]:
        fields = self._fields_param(req.params.get("fields"))
        lead = self._leads().get(str(int(req.match.group(1))))
        return {"result": [] if lead is None else [self._project(lead, fields)]}

    def get_leads(self, req: _Req) -> dict[str, Any]:
        filter_type = req.params.get("filterType", "").strip()
        if not filter_type:
            raise _Fail("701", "filterType cannot be blank")
        if filter_type not in FILTER_TYPES:
            if filter_type not in FIELDS_BY_NAME:
                raise _Fail("1006", f"Field '{filter_type}' not found")
            raise _Fail("1011", f"Field '{filter_type}' not supported")
        values = _csv(req.params.get("filterValues"))
        if not values:
            raise _Fail("701", "filterValues cannot be blank")
        if len(values) > MAX_BATCH:
            raise _Fail("1003", f"Too many filterValues, the maximum is {MAX_BATCH}")
        fields = self._fields_param(req.params.get("fields"))
        batch = self._batch_size(req.params.get("batchSize"))
        offset = 0
        token = req.params.get("nextPageToken")
        if token:
            parts = _decode_token(token, "L")
            if not parts or _as_int(parts[0]) is None:
                raise _Fail("1003", "Invalid nextPageToken")
            offset = int(parts[0])
        if filter_type == "email":
            wanted = {v.lower() for v in values}
            matches = [
                lead
                for lead in self._leads().values()
                if str(lead.get("email", "")).lower() in wanted
            ]
        else:
            wanted = set(values)
            matches = [
                lead
                for lead in self._leads().values()
                if lead.get(filter_type) is not None and str(lead[filter_type]) in wanted
            ]
        if len(matches) > MAX_FILTER_MATCHES:
            raise _Fail("1003", "Too many results match the filter")
        matches.sort(key=lambda lead: int(lead["id"]))
        page = matches[offset : offset + batch]
        payload: dict[str, Any] = {"result": [self._project(lead, fields) for lead in page]}
        if offset + batch < len(matches):
            payload["nextPageToken"] = _encode_token("L", offset + batch)
        return payload

    @staticmethod
    def _batch_size(raw: str | None) -> int:
        if raw is None or raw == "":
            return MAX_BATCH
        size = _as_int(raw)
        if size is None or not 1 <= size <= MAX_BATCH:
            raise _Fail("1003", f"Invalid batchSize '{raw}', it must be between 1 and {MAX_BATCH}")
        return size

    def describe_leads(self, req: _Req) -> dict[str, Any]:
        return {"result": [f.describe() for f in FIELDS_BY_NAME.values()]}

    def describe_leads2(self, req: _Req) -> dict[str, Any]:
        searchable = [[name] for name in sorted(FILTER_TYPES)]
        searchable.insert(0, ["email", "leadPartitionId"])
        return {
            "result": [
                {
                    "name": "API Lead",
                    "searchableFields": searchable,
                    "fields": [f.describe2() for f in FIELDS_BY_NAME.values()],
                }
            ]
        }

    # ------------------------------------------------------------------ activities

    def _custom_types(self) -> dict[str, dict[str, Any]]:
        types: dict[str, dict[str, Any]] = self.data["custom_types"]
        return types

    def activity_types(self, req: _Req) -> dict[str, Any]:
        result = [copy.deepcopy(t) for t in STANDARD_ACTIVITY_TYPES]
        for ctype in self._custom_types().values():
            version = ctype.get("approved")
            if not version:
                continue
            primary = version["primaryAttribute"]
            result.append(
                {
                    "id": ctype["id"],
                    "apiName": ctype["apiName"],
                    "name": version["name"],
                    "description": version.get("description") or "",
                    "primaryAttribute": {
                        "name": primary["name"],
                        "apiName": primary["apiName"],
                        "dataType": primary["dataType"],
                    },
                    "attributes": [
                        {"name": a["name"], "apiName": a["apiName"], "dataType": a["dataType"]}
                        for a in version["attributes"]
                    ],
                }
            )
        return {"result": result}

    def paging_token(self, req: _Req) -> dict[str, Any]:
        raw = req.params.get("sinceDatetime") or req.params.get("sinceDateTime")
        if not raw:
            raise _Fail("701", "sinceDatetime cannot be blank")
        since = _parse_datetime(raw)
        if since is None:
            raise _Fail("704", "Invalid date format")
        return {"nextPageToken": _encode_token("A", int(since.timestamp() * 1000), 0)}

    @staticmethod
    def _position(req: _Req) -> tuple[int, int]:
        token = req.params.get("nextPageToken")
        if not token:
            raise _Fail("701", "nextPageToken cannot be blank")
        parts = _decode_token(token, "A")
        if not parts or len(parts) != 2 or any(_as_int(p) is None for p in parts):
            raise _Fail("1003", "Invalid nextPageToken")
        return int(parts[0]), int(parts[1])

    @staticmethod
    def _lead_ids(req: _Req) -> set[int]:
        lead_ids_raw = _csv(req.params.get("leadIds"))
        if len(lead_ids_raw) > 30:
            raise _Fail("1003", "Too many leadIds, the maximum is 30")
        lead_ids = {_as_int(v) for v in lead_ids_raw}
        if None in lead_ids:
            raise _Fail("1003", "Invalid leadIds")
        return {i for i in lead_ids if i is not None}

    def _page(
        self, req: _Req, position: tuple[int, int], keep: Callable[[dict[str, Any]], bool]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The activities after ``position`` that ``keep`` accepts, one page of them, and the
        paging keys (``nextPageToken`` always, ``moreResult``)."""
        batch = self._batch_size(req.params.get("batchSize"))
        rows = sorted(
            (a for a in self.data["activities"] if (a["_ms"], a["id"]) > position and keep(a)),
            key=lambda a: (a["_ms"], a["id"]),
        )
        page = rows[:batch]
        if page:
            position = (page[-1]["_ms"], page[-1]["id"])
        paging = {
            "nextPageToken": _encode_token("A", *position),
            "moreResult": len(rows) > len(page),
        }
        return page, paging

    def get_lead_changes(self, req: _Req) -> dict[str, Any]:
        """Get Lead Changes: New Lead activities and the Change Data Value activities of the
        ``fields`` asked for (required), each change as ``fields: [{id, name, newValue,
        oldValue}]``; paged like ``activities.json``."""
        position = self._position(req)
        fields = _csv(req.params.get("fields"))
        if not fields:
            raise _Fail("701", "fields cannot be blank")
        for name in fields:
            if name not in FIELDS_BY_NAME:
                raise _Fail("1006", f"Field '{name}' not found")
        wanted = {FIELDS_BY_NAME[name].id for name in fields}
        lead_ids = self._lead_ids(req)

        def keep(a: dict[str, Any]) -> bool:
            if lead_ids and a["leadId"] not in lead_ids:
                return False
            if a["activityTypeId"] == NEW_LEAD:
                return True
            return (
                a["activityTypeId"] == CHANGE_DATA_VALUE
                and a.get("primaryAttributeValueId") in wanted
            )

        page, payload = self._page(req, position, keep)
        if page:
            payload["result"] = [self._lead_change(a) for a in page]
        return payload

    @staticmethod
    def _lead_change(activity: dict[str, Any]) -> dict[str, Any]:
        out = {k: activity[k] for k in ("id", "marketoGUID", "leadId", "activityDate")}
        out["activityTypeId"] = activity["activityTypeId"]
        values = {a["name"]: a.get("value") for a in activity["attributes"]}
        out["fields"] = []
        if activity["activityTypeId"] == CHANGE_DATA_VALUE:
            spec = FIELDS_BY_ID[int(activity["primaryAttributeValueId"])]
            change: dict[str, Any] = {"id": spec.id, "name": spec.name}
            change["newValue"] = values.get("New Value")
            if values.get("Old Value") is not None:
                change["oldValue"] = values["Old Value"]
            out["fields"] = [change]
        skip = {"New Value", "Old Value"}
        out["attributes"] = [
            {"name": a["name"], "value": a["value"]}
            for a in activity["attributes"]
            if a["name"] not in skip
        ]
        return out

    def get_activities(self, req: _Req) -> dict[str, Any]:
        position = self._position(req)
        type_ids_raw = _csv(req.params.get("activityTypeIds"))
        if not type_ids_raw:
            raise _Fail("701", "activityTypeIds cannot be blank")
        if len(type_ids_raw) > 10:
            raise _Fail("1003", "Too many activityTypeIds, the maximum is 10")
        type_ids = {_as_int(t) for t in type_ids_raw}
        if None in type_ids:
            raise _Fail("1003", "Invalid activityTypeIds")
        lead_ids = self._lead_ids(req)
        page, payload = self._page(
            req,
            position,
            lambda a: a["activityTypeId"] in type_ids and (not lead_ids or a["leadId"] in lead_ids),
        )
        if page:
            payload["result"] = [
                {k: copy.deepcopy(v) for k, v in a.items() if not k.startswith("_")} for a in page
            ]
        return payload

    # ------------------------------------------------------------------ custom activity types

    def _type_summary(self, ctype: dict[str, Any]) -> dict[str, Any]:
        version = ctype.get("approved") or ctype.get("draft") or {}
        return {
            "id": ctype["id"],
            "apiName": ctype["apiName"],
            "name": version.get("name"),
            "description": version.get("description") or "",
            "triggerName": version.get("triggerName"),
            "filterName": version.get("filterName"),
            "createdAt": ctype["createdAt"],
            "updatedAt": ctype["updatedAt"],
            "status": ctype["status"],
        }

    def _type_describe(self, ctype: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
        out = self._type_summary(ctype)
        for key in ("name", "description", "triggerName", "filterName"):
            out[key] = version.get(key) or ("" if key == "description" else None)
        out["primaryAttribute"] = copy.deepcopy(version["primaryAttribute"])
        out["attributes"] = copy.deepcopy(version["attributes"])
        return out

    def _find_type(self, api_name: str) -> dict[str, Any]:
        ctype = self._custom_types().get(api_name)
        if ctype is None:
            raise _Fail("702", f"No activity type with apiName '{api_name}'")
        return ctype

    def custom_types(self, req: _Req) -> dict[str, Any]:
        return {"result": [self._type_summary(t) for t in self._custom_types().values()]}

    @staticmethod
    def _attribute(spec: Any, *, primary: bool = False) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise _Fail("1003", "An attribute must be an object")
        for key in ("apiName", "name"):
            if not spec.get(key):
                raise _Fail("701", f"{key} cannot be blank")
        if not API_NAME_RE.fullmatch(str(spec["apiName"])):
            raise _Fail("1003", f"Invalid apiName '{spec['apiName']}'")
        data_type = spec.get("dataType") or "string"
        if data_type not in CUSTOM_ATTRIBUTE_TYPES:
            raise _Fail("1003", f"Invalid dataType '{data_type}'")
        return {
            "apiName": str(spec["apiName"]),
            "name": str(spec["name"]),
            "description": str(spec.get("description") or ""),
            "dataType": data_type,
            **({} if primary else {"isPrimary": False}),
        }

    def create_custom_type(self, req: _Req) -> dict[str, Any]:
        body = self._body(req)
        for key in ("apiName", "name", "triggerName", "filterName", "primaryAttribute"):
            if not body.get(key):
                raise _Fail("701", f"{key} cannot be blank")
        api_name = str(body["apiName"])
        if not API_NAME_RE.fullmatch(api_name):
            raise _Fail("1003", f"Invalid apiName '{api_name}'")
        types = self._custom_types()
        if api_name in types:
            raise _Fail("709", f"Activity type with apiName '{api_name}' already exists")
        if len(types) >= MAX_CUSTOM_TYPES:
            raise _Fail("1027", f"Max custom activity types ({MAX_CUSTOM_TYPES}) reached")
        for other in types.values():
            version = other.get("approved") or other.get("draft") or {}
            for key in ("name", "triggerName", "filterName"):
                if version.get(key) == body[key]:
                    raise _Fail("709", f"An activity type with {key} '{body[key]}' already exists")
        version = {
            "name": str(body["name"]),
            "description": str(body.get("description") or ""),
            "triggerName": str(body["triggerName"]),
            "filterName": str(body["filterName"]),
            "primaryAttribute": self._attribute(body["primaryAttribute"], primary=True),
            "attributes": [],
        }
        now = _iso(self.clock())
        type_id = int(self.data["next_type_id"])
        self.data["next_type_id"] = type_id + 1
        ctype = {
            "id": type_id,
            "apiName": api_name,
            "createdAt": now,
            "updatedAt": now,
            "status": "draft",
            "approved": None,
            "draft": version,
        }
        types[api_name] = ctype
        return {"result": [self._type_describe(ctype, version)]}

    def create_attrs(self, req: _Req) -> dict[str, Any]:
        ctype = self._find_type(req.match.group(1))
        body = self._body(req)
        # Marketo's body is {"attributes": [...]} (swagger-mapi CustomActivityTypeAttributeRequest);
        # any other key is ignored, so a client that spells it otherwise sends nothing.
        specs = body.get("attributes")
        if not specs:
            raise _Fail("701", "attributes cannot be blank")
        if not isinstance(specs, list):
            raise _Fail("1003", "attributes must be an array")
        draft = copy.deepcopy(ctype.get("draft") or ctype["approved"])
        new = [self._attribute(s) for s in specs]
        taken = {draft["primaryAttribute"]["apiName"], *(a["apiName"] for a in draft["attributes"])}
        names = {draft["primaryAttribute"]["name"], *(a["name"] for a in draft["attributes"])}
        for attr in new:
            if attr["apiName"] in taken or attr["name"] in names:
                raise _Fail("709", f"Attribute '{attr['apiName']}' already exists")
            taken.add(attr["apiName"])
            names.add(attr["name"])
        if len(draft["attributes"]) + len(new) > MAX_CUSTOM_ATTRIBUTES:
            raise _Fail("1028", f"More than {MAX_CUSTOM_ATTRIBUTES} secondary attributes")
        draft["attributes"].extend(new)
        ctype["draft"] = draft
        ctype["status"] = "approved with draft" if ctype.get("approved") else "draft"
        ctype["updatedAt"] = _iso(self.clock())
        return {"result": [self._type_describe(ctype, draft)]}

    def approve_type(self, req: _Req) -> dict[str, Any]:
        ctype = self._find_type(req.match.group(1))
        if not ctype.get("draft"):
            raise _Fail("709", "Activity type has no draft to approve")
        ctype["approved"], ctype["draft"] = ctype["draft"], None
        ctype["status"] = "approved"
        ctype["updatedAt"] = _iso(self.clock())
        return {"result": [self._type_describe(ctype, ctype["approved"])]}

    def describe_type(self, req: _Req) -> dict[str, Any]:
        ctype = self._find_type(req.match.group(1))
        draft = req.params.get("draft", "").lower() == "true"
        version = ctype.get("draft") if draft else ctype.get("approved")
        if not version:
            which = "draft" if draft else "approved version"
            raise _Fail("702", f"Activity type '{ctype['apiName']}' has no {which}")
        return {"result": [self._type_describe(ctype, version)]}

    # ------------------------------------------------------------------ add custom activities

    def _custom_type_by_id(self, type_id: int) -> dict[str, Any]:
        for ctype in self._custom_types().values():
            if ctype["id"] == type_id:
                if not ctype.get("approved"):
                    raise _Skip("1003", f"Activity type '{type_id}' is not approved")
                return ctype
        raise _Skip("1003", f"Invalid activityTypeId '{type_id}'")

    @staticmethod
    def _attribute_value(spec: dict[str, Any], value: Any) -> Any:
        data_type = spec["dataType"]
        name = spec["apiName"]
        if data_type == "integer":
            as_int = _as_int(value)
            if as_int is None:
                raise _Skip("1001", f"Invalid value type for attribute '{name}'")
            return as_int
        if data_type in ("float", "currency"):
            if isinstance(value, bool):
                raise _Skip("1001", f"Invalid value type for attribute '{name}'")
            try:
                return float(value)
            except (TypeError, ValueError) as exc:
                raise _Skip("1001", f"Invalid value type for attribute '{name}'") from exc
        if data_type == "boolean":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise _Skip("1001", f"Invalid value type for attribute '{name}'")
            return value
        if isinstance(value, dict | list):
            raise _Skip("1001", f"Invalid value type for attribute '{name}'")
        return str(value)

    def _add_one(self, row: Any) -> dict[str, Any]:
        if not isinstance(row, dict):
            raise _Skip("1003", "Invalid activity")
        for key in ("leadId", "activityDate", "activityTypeId", "primaryAttributeValue"):
            if row.get(key) is None or row.get(key) == "":
                raise _Skip("1002", f"Missing value for required parameter '{key}'")
        lead_id = _as_int(row["leadId"])
        if lead_id is None:
            raise _Skip("1001", "Invalid value type for 'leadId'")
        when = _parse_datetime(row["activityDate"])
        if when is None:
            raise _Skip("1001", "Invalid value for 'activityDate'")
        type_id = _as_int(row["activityTypeId"])
        if type_id is None:
            raise _Skip("1001", "Invalid value type for 'activityTypeId'")
        ctype = self._custom_type_by_id(type_id)
        if row.get("apiName") and row["apiName"] != ctype["apiName"]:
            raise _Skip("1003", f"apiName '{row['apiName']}' does not match activityTypeId")
        version = ctype["approved"]
        attributes = row.get("attributes") or []
        if not isinstance(attributes, list):
            raise _Skip("1001", "Invalid value type for 'attributes'")
        if len(attributes) > MAX_CUSTOM_ATTRIBUTES:
            raise _Skip("1028", f"More than {MAX_CUSTOM_ATTRIBUTES} secondary attributes")
        if len(json.dumps(attributes, default=str).encode()) > MAX_ATTRIBUTES_BYTES:
            raise _Skip("1049", f"Attributes array exceeds {MAX_ATTRIBUTES_BYTES} bytes")
        by_key: dict[str, dict[str, Any]] = {}
        for spec in version["attributes"]:
            by_key[spec["apiName"]] = spec
            by_key.setdefault(spec["name"], spec)
        stored: list[dict[str, Any]] = []
        for attr in attributes:
            if not isinstance(attr, dict):
                raise _Skip("1003", "Invalid attribute")
            attr_key = attr.get("apiName") or attr.get("name")
            spec = by_key.get(str(attr_key))
            if spec is None:
                raise _Skip("1006", f"Field '{attr_key}' not found")
            value = attr.get("value")
            if value is None or value == "":
                continue
            stored.append(
                {
                    "name": spec["name"],
                    "apiName": spec["apiName"],
                    "value": self._attribute_value(spec, value),
                }
            )
        if str(lead_id) not in self._leads():
            raise _Skip("1004", "Lead not found")
        activity = self._add_activity(
            lead_id,
            type_id,
            str(row["primaryAttributeValue"]),
            stored,
            when=when.timestamp(),
            api_name=ctype["apiName"],
        )
        return {"id": activity["id"], "marketoGUID": activity["marketoGUID"], "status": "added"}

    def add_custom_activities(self, req: _Req) -> dict[str, Any]:
        rows = self._body(req).get("input")
        if not rows:
            raise _Fail("701", "input cannot be blank")
        if not isinstance(rows, list):
            raise _Fail("1003", "input must be an array")
        if len(rows) > MAX_BATCH:
            raise _Fail("1003", f"Too many records in input, the maximum is {MAX_BATCH}")
        result: list[dict[str, Any]] = []
        for row in rows:
            try:
                result.append(self._add_one(row))
            except _Skip as skip:
                error = {"code": skip.code, "message": skip.message}
                result.append({"status": "skipped", "errors": [error]})
        return {"result": result}

    def usage(self, req: _Req) -> dict[str, Any]:
        quota = self._quota()
        return {
            "result": [
                {
                    "date": quota["day"],
                    "total": quota["count"],
                    "users": [{"userId": API_USER, "count": quota["count"]}],
                }
            ]
        }

    # ------------------------------------------------------------------ read-back for tests

    def fake_web_visit(self, lead_id: int, inferred: dict[str, Any]) -> dict[str, Any]:
        """What Marketo does when it places a person's web visit by its IP address: it sets the
        system-managed fields (``anonymousIP``, ``inferredCountry``, ``inferredStateRegion``,
        ``inferredCity``...), which no API may write; each change is logged as a Change Data
        Value, so an incremental sync sees it. Returns the lead."""
        wrong = [k for k in inferred if k not in INFERRED_FIELDS]
        if wrong:
            raise ValueError(f"not a field Marketo infers: {', '.join(map(str, wrong))}")
        with self.state.lock:
            lead = self._leads().get(str(lead_id))
            if lead is None:
                raise KeyError(lead_id)
            values = {k: (None if v in (None, "") else str(v)) for k, v in inferred.items()}
            self._update_lead(lead, values, reason="Web visit")
            self.state.save()
            return copy.deepcopy(lead)

    def fake_leads(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return sorted(copy.deepcopy(list(self._leads().values())), key=lambda x: x["id"])

    def fake_activities(
        self, api_name: str | None, lead_id: int | None = None
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with self.state.lock:
            for a in self.data["activities"]:
                if "_apiName" not in a or (api_name and a["_apiName"] != api_name):
                    continue
                if lead_id is not None and a["leadId"] != lead_id:
                    continue
                out.append(
                    {
                        "id": a["id"],
                        "marketoGUID": a["marketoGUID"],
                        "leadId": a["leadId"],
                        "activityDate": a["activityDate"],
                        "activityTypeId": a["activityTypeId"],
                        "apiName": a["_apiName"],
                        "primaryAttributeValue": a.get("primaryAttributeValue"),
                        "attributes": {x["apiName"]: x["value"] for x in a["attributes"]},
                    }
                )
        return out

    def fake_stats(self) -> FakeStats:
        """The shared admin stats; ``usage`` has the daily quota and the rate window."""
        with self.state.lock:
            quota = self._quota()
            activities = self.data["activities"]
            holds = {
                "leads": len(self.data["leads"]),
                "custom activities (/_fake/activities)": sum("_apiName" in a for a in activities),
                "native activities (New Lead, Change Data Value, ...)": sum(
                    "_apiName" not in a for a in activities
                ),
                "custom activity types": len(self.data["custom_types"]),
                "bulk export jobs": len(self.bulk.jobs),
            }
        return FakeStats(
            requests=self.stats.requests,
            calls=self.stats.calls,
            token_requests=self.stats.identity_calls,
            by_path=dict(self.stats.by_path),
            errors=dict(self.stats.errors),
            usage={
                "daily_count": quota["count"],
                "daily_quota": self.daily_quota,
                "window_count": len(self.window),
                "rate_limit": self.rate_limit,
                "in_flight": self.in_flight,
            },
            holds=holds,
            faults=list(self.faults),
        )


def create_app(
    client_id: str,
    client_secret: str,
    state_file: Path | None = None,
    token_ttl: int = 3600,
    rate_limit: int = 100,
    rate_window_s: float = 20.0,
    max_concurrency: int = 10,
    daily_quota: int = 50000,
    *,
    clock: Callable[[], float] = time.time,
    bulk_step_s: float = 60.0,
    bulk_disabled_filters: frozenset[str] = frozenset(),
    accept_query_token: bool = False,
) -> FastAPI:
    """Build the fake Marketo app; ``app.state.fake`` is the `FakeMarketo` behind it."""
    fake = FakeMarketo(
        client_id,
        client_secret,
        state_file,
        token_ttl=token_ttl,
        rate_limit=rate_limit,
        rate_window_s=rate_window_s,
        max_concurrency=max_concurrency,
        daily_quota=daily_quota,
        clock=clock,
        bulk_step_s=bulk_step_s,
        bulk_disabled_filters=bulk_disabled_filters,
        accept_query_token=accept_query_token,
    )
    app = FastAPI(title="Fake Marketo", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.fake = fake
    app.add_middleware(GZipMiddleware, minimum_size=1024)

    @app.api_route("/identity/oauth/token", methods=["GET", "POST"])
    async def token(request: Request) -> JSONResponse:
        status, body = fake.identity(dict(request.query_params))
        return JSONResponse(body, status_code=status, media_type=JSON_MEDIA_TYPE)

    @app.api_route("/rest/{rest_path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def rest(request: Request, rest_path: str) -> Response:
        return await fake.handle_rest(request)

    @app.api_route("/bulk/{bulk_path:path}", methods=["GET", "POST"])
    async def bulk(request: Request, bulk_path: str) -> Response:
        return await fake.handle_rest(request)

    about = (
        "A local stand-in for Marketo's REST and Bulk APIs (/identity/oauth/token, /rest/v1/...)."
    )
    app.include_router(admin_router(fake, about))

    @app.get("/_fake/leads")
    async def leads() -> JSONResponse:
        """Every lead, as stored."""
        return JSONResponse(fake.fake_leads())

    @app.post("/_fake/leads/{lead_id}/web-visit")
    async def web_visit(lead_id: int, request: Request) -> JSONResponse:
        """Body: the inferred fields to set, e.g. ``{"inferredCountry": "Germany"}``."""
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("a JSON object is required")
            return JSONResponse(fake.fake_web_visit(lead_id, body))
        except KeyError:
            return JSONResponse({"error": f"lead {lead_id} not found"}, status_code=404)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    @app.get("/_fake/activities")
    async def activities(
        api_name: str | None = Query(None, alias="apiName"),
        lead_id: int | None = Query(None, alias="leadId"),
    ) -> JSONResponse:
        """The activities logged (filters: apiName, leadId)."""
        return JSONResponse(fake.fake_activities(api_name, lead_id))

    return app
