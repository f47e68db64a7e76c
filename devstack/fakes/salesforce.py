"""A fake Salesforce REST API (OAuth client credentials, sObjects, sObject Collections with
upsert by external id, a SOQL subset, limits) for tests and local runs.

Faithful where our client depends on it: errors are a JSON array of ``{message, errorCode}``,
collection SaveResults use ``statusCode``, a token carries no ``expires_in`` and dies after an
inactivity timeout (401 ``INVALID_SESSION_ID``), every response has ``Sforce-Limit-Info`` and the
rolling 24 h allocation ends in 403 ``REQUEST_LIMIT_EXCEEDED``.

Extra endpoints under ``/_fake/`` (not part of Salesforce) inject faults and read state back.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import load_pem_x509_certificate
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from devstack.fakes.home import home_page
from devstack.fakes.state import JsonState

logger = logging.getLogger(__name__)
JSON_MEDIA_TYPE = "application/json;charset=UTF-8"
MIN_VERSION, MAX_VERSION = 52.0, 67.0
MAX_COLLECTION = 200
DAY_S = 86_400.0
ORG_ID = "00D000000000001AAA"
USER_ID = "005000000000001AAA"

# Field name -> (type, required on create, createable, updateable, picklist values)
_F = tuple[str, bool, bool, bool, tuple[str, ...]]
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
OBJECTS: dict[str, dict[str, Any]] = {
    "Task": {
        "prefix": "00T",
        "defaults": {"Status": "Not Started", "Priority": "Normal"},
        "fields": {
            "Subject": ("string", False, True, True, ()),
            "Status": ("picklist", True, True, True, TASK_STATUSES),
            "Priority": ("picklist", True, True, True, ("High", "Normal", "Low")),
            "ActivityDate": ("date", False, True, True, ()),
            "WhoId": ("reference", False, True, True, ("00Q", "003")),
            "WhatId": ("reference", False, True, True, ("001", "006", "701")),
            "OwnerId": ("reference", False, True, True, ("005",)),
            "Description": ("textarea", False, True, True, ()),
            "TaskSubtype": (
                "picklist",
                False,
                True,
                False,
                ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"),
            ),
            "Type": ("picklist", False, True, True, ("Call", "Email", "Reply", "Meeting", "Other")),
            "CallDurationInSeconds": ("int", False, True, True, ()),
            "CallDisposition": ("string", False, True, True, ()),
            "CallType": ("picklist", False, True, True, ("Internal", "Inbound", "Outbound")),
            "Cadence_Activity_Key__c": ("string", False, True, True, ()),
            "Cadence_Campaign__c": ("string", False, True, True, ()),
            "Cadence_Step__c": ("string", False, True, True, ()),
        },
        "external_ids": ("Cadence_Activity_Key__c",),
    },
    "Lead": {
        "prefix": "00Q",
        "defaults": {"HasOptedOutOfEmail": False, "DoNotCall": False, "IsConverted": False},
        "fields": {
            "FirstName": ("string", False, True, True, ()),
            "LastName": ("string", True, True, True, ()),
            "Company": ("string", True, True, True, ()),
            "Email": ("email", False, True, True, ()),
            "Title": ("string", False, True, True, ()),
            "Phone": ("phone", False, True, True, ()),
            "HasOptedOutOfEmail": ("boolean", False, True, True, ()),
            "DoNotCall": ("boolean", False, True, True, ()),
            "OwnerId": ("reference", False, True, True, ("005",)),
            "IsConverted": ("boolean", False, False, False, ()),
        },
        "external_ids": (),
    },
    "Contact": {
        "prefix": "003",
        "defaults": {"HasOptedOutOfEmail": False, "DoNotCall": False},
        "fields": {
            "FirstName": ("string", False, True, True, ()),
            "LastName": ("string", True, True, True, ()),
            "Email": ("email", False, True, True, ()),
            "Title": ("string", False, True, True, ()),
            "Phone": ("phone", False, True, True, ()),
            "AccountId": ("reference", False, True, True, ("001",)),
            "HasOptedOutOfEmail": ("boolean", False, True, True, ()),
            "DoNotCall": ("boolean", False, True, True, ()),
            "OwnerId": ("reference", False, True, True, ("005",)),
        },
        "external_ids": (),
    },
}
OBJECTS["User"] = {
    "prefix": "005",
    "defaults": {"IsActive": True},
    "fields": {
        "Name": ("string", False, False, False, ()),
        "Username": ("string", True, True, True, ()),
        "Email": ("email", True, True, True, ()),
        "IsActive": ("boolean", False, True, True, ()),
    },
    "external_ids": (),
}
INTEGRATION_USER = {"Id": USER_ID, "Name": "Cadence Integration", "Username": "cadence@org.example",
                    "Email": "cadence@org.example", "IsActive": True}  # fmt: skip
READ_ONLY = ("Id", "CreatedDate", "LastModifiedDate", "IsDeleted")
COMPOSITE_MAX, COMPOSITE_QUERIES = 25, 5
MAX_CHUNKS = 10  # runs of one sObject type in a collection
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)\.([A-Za-z0-9_.]+)\}")
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class SfError(Exception):
    """A request-level failure: HTTP status plus the array-shaped body."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


class RecordError(Exception):
    """A record-level failure, reported in a SaveResult."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or []

    def as_status(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


@dataclass
class Fault:
    """An injected failure for the next ``count`` matching requests, or for a ``rate`` (a
    share, 0 to 1) of them for as long as it is in place.

    ``kind``: ``unable_to_lock_row`` (400, or per record in collections), ``duplicate_value``
    (the first record of the next collection write, as a unique field would), ``server_unavailable``
    (503), ``request_limit`` (403), ``drop_after_commit`` (the write happens, the response is a
    bare 502 as if the connection dropped) or ``slow`` (``delay_s`` then a normal answer).
    """

    kind: str
    count: int = 1
    rate: float | None = None
    path_contains: str | None = None
    delay_s: float = 0.0


FAULT_KINDS = frozenset(
    {"unable_to_lock_row", "duplicate_value", "server_unavailable", "request_limit",
     "drop_after_commit", "slow"}
)  # fmt: skip


def _now_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class FakeSalesforce:
    """State and behaviour behind the fake app (``app.state.fake``)."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        state_file: Path | None,
        *,
        session_timeout_s: float = 7200.0,
        daily_limit: int = 100_000,
        query_batch_size: int = 2000,
        clock: Callable[[], float] = time.time,
        long_request_s: float = 20.0,
        max_long_requests: int = 25,
        jwt_cert: bytes | None = None,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.jwt_cert = jwt_cert  # the connected app's certificate (PEM) for the JWT flow
        # requests running this long count against the org's concurrent long-running limit
        self.long_request_s, self.max_long_requests = long_request_s, max_long_requests
        self.in_flight: dict[int, float] = {}  # request number -> start
        self.refresh_tokens: set[str] = set()
        self.duplicate_next_record = False
        self.session_timeout_s = session_timeout_s
        self.daily_limit = daily_limit
        self.query_batch_size = query_batch_size
        self.clock = clock
        self.state = JsonState(state_file, {"records": {t: {} for t in OBJECTS}, "seq": 0})
        self.sessions: dict[str, float] = {}  # token -> last use
        self.calls: deque[float] = deque()
        self.faults: list[Fault] = []
        self.token_requests = 0
        self.locators: dict[str, list[dict[str, Any]]] = {}
        self.lock_next_record = False
        users = self.state.data["records"].setdefault("User", {})
        users.setdefault(USER_ID, {**INTEGRATION_USER, "CreatedDate": _now_iso(self.clock()),
                                   "LastModifiedDate": _now_iso(self.clock())})  # fmt: skip

    # -- auth and limits -------------------------------------------------------------------
    def issue_token(self, form: dict[str, str], basic: str | None) -> tuple[int, dict[str, Any]]:
        self.token_requests += 1
        grant = form.get("grant_type")
        if grant == JWT_GRANT:
            problem = self._jwt_problem(form.get("assertion") or "")
            if problem:
                return 400, {"error": "invalid_grant", "error_description": problem}
            return 200, self._session()
        if grant not in ("client_credentials", "refresh_token"):
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "grant type not supported",
            }
        cid, secret = form.get("client_id"), form.get("client_secret")
        if basic:
            try:
                cid, _, secret = base64.b64decode(basic).decode().partition(":")
            except ValueError:
                cid = secret = None
        if cid != self.client_id:
            return 400, {
                "error": "invalid_client_id",
                "error_description": "client identifier invalid",
            }
        if secret != self.client_secret:
            return 400, {
                "error": "invalid_client",
                "error_description": "invalid client credentials",
            }
        if grant == "refresh_token" and form.get("refresh_token") not in self.refresh_tokens:
            return 400, {
                "error": "invalid_grant",
                "error_description": "expired access/refresh token",
            }
        return 200, self._session()

    def _jwt_problem(self, assertion: str) -> str | None:
        """What is wrong with a JWT bearer assertion (RS256, iss = the consumer key, a sub,
        aud = a login host, exp within the next 5 minutes), or None."""
        if self.jwt_cert is None:
            return "invalid assertion: no certificate for this connected app"
        parts = assertion.split(".")
        try:
            head, claims = json.loads(_b64url(parts[0])), json.loads(_b64url(parts[1]))
            signature = _b64url(parts[2])
        except (ValueError, IndexError):
            return "invalid assertion"
        if head.get("alg") != "RS256":
            return "invalid assertion: alg must be RS256"
        key = load_pem_x509_certificate(self.jwt_cert).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            return "invalid assertion: the certificate is not an RSA one"
        try:
            signed = f"{parts[0]}.{parts[1]}".encode()
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "invalid assertion: signature invalid"
        if claims.get("iss") != self.client_id:
            return "invalid assertion: client identifier invalid"
        if not claims.get("sub"):
            return "invalid assertion: user hasn't approved this consumer"
        if claims.get("aud") not in JWT_AUDIENCES:
            return "invalid assertion: audience invalid"
        exp = claims.get("exp")
        now = self.clock()
        if not isinstance(exp, int | float) or exp < now or exp > now + 300:
            return "invalid assertion: expired authorization code"
        return None

    def _session(self) -> dict[str, Any]:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(24)}"
        now = self.clock()
        self.sessions[token] = now
        return {
            "access_token": token,
            "signature": secrets.token_urlsafe(16),
            "scope": "api",
            "instance_url": "",  # filled in by the route from the request's base URL
            "id": f"https://login.salesforce.com/id/{ORG_ID}/{USER_ID}",
            "token_type": "Bearer",
            "issued_at": str(int(now * 1000)),
        }

    def mint_refresh_token(self) -> str:
        """A refresh token, as the authorization-code flow would have handed out."""
        token = f"5Aep{secrets.token_urlsafe(40)}"
        self.refresh_tokens.add(token)
        return token

    def start_request(self, number: int) -> None:
        """Refuse a request while the org has too many long-running ones going."""
        now = self.clock()
        long_ones = sum(now - t >= self.long_request_s for t in self.in_flight.values())
        if long_ones >= self.max_long_requests:
            raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
        self.in_flight[number] = now

    def revoke_all(self) -> int:
        count = len(self.sessions)
        self.sessions.clear()
        return count

    def check_session(self, authorization: str | None) -> None:
        token = (authorization or "").removeprefix("Bearer ").strip()
        last = self.sessions.get(token)
        now = self.clock()
        if last is None or now - last > self.session_timeout_s:
            self.sessions.pop(token, None)
            raise SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        self.sessions[token] = now

    def count_call(self) -> None:
        now = self.clock()
        while self.calls and self.calls[0] <= now - DAY_S:
            self.calls.popleft()
        if len(self.calls) >= self.daily_limit:
            raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.calls.append(now)

    def limit_info(self) -> str:
        return f"api-usage={len(self.calls)}/{self.daily_limit}"

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path_contains and fault.path_contains not in path:
                continue
            if fault.rate is not None:
                if random.random() < fault.rate:
                    return fault
                continue
            fault.count -= 1
            if fault.count <= 0:
                self.faults.remove(fault)
            return fault
        return None

    # -- records ---------------------------------------------------------------------------
    @property
    def records(self) -> dict[str, dict[str, dict[str, Any]]]:
        records: dict[str, dict[str, dict[str, Any]]] = self.state.data["records"]
        return records

    def _new_id(self, sobject: str) -> str:
        self.state.data["seq"] += 1
        return f"{OBJECTS[sobject]['prefix']}{self.state.data['seq']:012d}AAA"

    @staticmethod
    def describe_type(sobject: str) -> dict[str, Any]:
        if sobject not in OBJECTS:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        meta = OBJECTS[sobject]
        fields = [
            {
                "name": "Id",
                "type": "id",
                "createable": False,
                "updateable": False,
                "nillable": False,
                "externalId": False,
                "picklistValues": [],
            }
        ]
        for name, (ftype, required, createable, updateable, values) in meta["fields"].items():
            fields.append(
                {
                    "name": name,
                    "type": ftype,
                    "createable": createable,
                    "updateable": updateable,
                    "nillable": not required,
                    "externalId": name in meta["external_ids"],
                    "picklistValues": [{"value": v, "label": v, "active": True} for v in values]
                    if ftype == "picklist"
                    else [],
                    "referenceTo": list(values) if ftype == "reference" else [],
                }
            )
        return {
            "name": sobject,
            "keyPrefix": meta["prefix"],
            "createable": True,
            "updateable": True,
            "queryable": True,
            "fields": fields,
        }

    def _validate(self, sobject: str, values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        meta = OBJECTS[sobject]
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if name == "attributes":
                continue
            if name == "Id":
                raise RecordError(
                    "INVALID_FIELD", "The Id field should not be specified in the sobject data."
                )
            spec = meta["fields"].get(name)
            if spec is None:
                raise RecordError(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name]
                )
            ftype, _, createable, updateable, allowed = spec
            if (creating and not createable) or (not creating and not updateable):
                raise RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}. Please check the security settings "
                    "of this field and verify that it is read/write for your profile or permission "
                    "set.",
                    [name],
                )
            if value is None:
                clean[name] = None
                continue
            if ftype == "picklist" and value not in allowed:
                raise RecordError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{name}: bad value for restricted picklist field: {value}",
                    [name],
                )
            if ftype == "reference":
                if not isinstance(value, str) or not ID_RE.match(value):
                    raise RecordError(
                        "MALFORMED_ID", f"{name} ID: id value of incorrect type: {value}", [name]
                    )
                if value[:3] not in allowed:
                    raise RecordError(
                        "FIELD_INTEGRITY_EXCEPTION",
                        f"{name}: id value of incorrect type: {value}",
                        [name],
                    )
            if ftype == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
                raise RecordError(
                    "JSON_PARSER_ERROR", f"Cannot deserialize instance of date from {value}", [name]
                )
            if ftype in ("string", "textarea") and not isinstance(value, str):
                value = str(value)
            if ftype == "string" and len(value) > 255:
                raise RecordError(
                    "STRING_TOO_LONG", f"{name}: data value too large: {value[:40]}...", [name]
                )
            clean[name] = value
        return clean

    def create(self, sobject: str, values: dict[str, Any]) -> dict[str, Any]:
        clean = self._validate(sobject, values, creating=True)
        record = {**OBJECTS[sobject]["defaults"], **clean}
        missing = [
            name
            for name, spec in OBJECTS[sobject]["fields"].items()
            if spec[1] and record.get(name) in (None, "")
        ]
        if missing:
            raise RecordError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        new_id = self._new_id(sobject)
        stamp = _now_iso(self.clock())
        record.update(Id=new_id, CreatedDate=stamp, LastModifiedDate=stamp, IsDeleted=False)
        self.records[sobject][new_id] = record
        return record

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
        record = self.records[sobject].get(record_id)
        if record is None:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        clean = self._validate(sobject, values, creating=False)
        record.update(clean)
        record["LastModifiedDate"] = _now_iso(self.clock())
        return record

    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        if sobject not in OBJECTS:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        record = self.records[sobject].get(record_id)
        if record is None:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return record

    def upsert(
        self, sobject: str, field: str, values: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Create or update by external id; returns (record, created)."""
        key = values.get(field)
        if key in (None, ""):
            raise RecordError("MISSING_ARGUMENT", f"{field} not specified", [field])
        matches = [r for r in self.records[sobject].values() if r.get(field) == key]
        if len(matches) > 1:
            raise RecordError(
                "DUPLICATE_EXTERNAL_ID",
                f"{field}: more than one record found for external id field: "
                + str([r["Id"] for r in matches]),
                [field],
            )
        if matches:
            rest = {k: v for k, v in values.items() if k != field}
            return self.update(sobject, matches[0]["Id"], rest), False
        return self.create(sobject, values), True

    # -- SOQL subset -----------------------------------------------------------------------
    SOQL = re.compile(
        r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<type>\w+)"
        r"(?:\s+WHERE\s+(?P<where>.+?))?"
        r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<dir>ASC|DESC))?)?"
        r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
        re.IGNORECASE | re.DOTALL,
    )
    COND = re.compile(
        r"^\s*(?P<field>\w+)\s*(?:(?P<op>=|!=)\s*(?P<value>'(?:[^'\\]|\\.)*'|true|false|null|\d+)"
        r"|IN\s*\((?P<values>[^)]*)\))\s*$",
        re.IGNORECASE,
    )

    @staticmethod
    def _literal(raw: str) -> Any:
        raw = raw.strip()
        if raw.startswith("'"):
            return raw[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        low = raw.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        return int(raw)

    def query(self, soql: str) -> list[dict[str, Any]]:
        m = self.SOQL.match(soql)
        if m is None:
            raise SfError(400, "MALFORMED_QUERY", f"unexpected token in query: {soql[:80]}")
        sobject = m["type"]
        if sobject not in OBJECTS:
            raise SfError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        known = {"Id", *READ_ONLY, *OBJECTS[sobject]["fields"]}
        fields = [f.strip() for f in m["fields"].split(",")]
        conditions = []
        if m["where"]:
            for part in re.split(r"\s+AND\s+", m["where"], flags=re.IGNORECASE):
                cm = self.COND.match(part)
                if cm is None:
                    raise SfError(400, "MALFORMED_QUERY", f"unexpected token: {part.strip()[:60]}")
                conditions.append(cm)
        for name in [
            *fields,
            *(c["field"] for c in conditions),
            *([m["order"]] if m["order"] else []),
        ]:
            if name not in known:
                raise SfError(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'"
                )
        rows = list(self.records[sobject].values())
        for cond in conditions:
            name = cond["field"]
            if cond["values"] is not None:
                wanted = [self._literal(v) for v in cond["values"].split(",") if v.strip()]
                rows = [r for r in rows if r.get(name) in wanted]
            else:
                value = self._literal(cond["value"])
                if name == "Email" and isinstance(value, str):
                    same = [r for r in rows if str(r.get(name) or "").lower() == value.lower()]
                else:
                    same = [r for r in rows if r.get(name) == value]
                rows = same if cond["op"] == "=" else [r for r in rows if r not in same]
        if m["order"]:
            rows.sort(
                key=lambda r: str(r.get(m["order"]) or ""),
                reverse=(m["dir"] or "").upper() == "DESC",
            )
        if m["limit"]:
            rows = rows[: int(m["limit"])]
        return [
            {
                "attributes": {"type": sobject, "url": f"/sobjects/{sobject}/{r['Id']}"},
                **{f: r.get(f) for f in fields},
            }
            for r in rows
        ]

    def page(
        self, base: str, rows: list[dict[str, Any]], offset: int, locator: str
    ) -> dict[str, Any]:
        batch = rows[offset : offset + self.query_batch_size]
        for row in batch:
            row["attributes"]["url"] = base + row["attributes"]["url"]
        done = offset + len(batch) >= len(rows)
        body: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": batch}
        if not done:
            self.locators[locator] = rows
            body["nextRecordsUrl"] = f"{base}/query/{locator}-{offset + len(batch)}"
        return body


def _error(err: SfError) -> JSONResponse:
    item: dict[str, Any] = {"message": err.message, "errorCode": err.code}
    if err.fields:
        item["fields"] = err.fields
    return JSONResponse([item], status_code=err.status, media_type=JSON_MEDIA_TYPE)


def create_app(
    client_id: str,
    client_secret: str,
    state_file: Path | None = None,
    *,
    session_timeout_s: float = 7200.0,
    daily_limit: int = 100_000,
    query_batch_size: int = 2000,
    clock: Callable[[], float] = time.time,
    long_request_s: float = 20.0,
    max_long_requests: int = 25,
    jwt_cert: bytes | None = None,
) -> FastAPI:
    """Build the fake Salesforce app; ``app.state.fake`` is the `FakeSalesforce` behind it."""
    fake = FakeSalesforce(
        client_id,
        client_secret,
        state_file,
        session_timeout_s=session_timeout_s,
        daily_limit=daily_limit,
        query_batch_size=query_batch_size,
        clock=clock,
        long_request_s=long_request_s,
        max_long_requests=max_long_requests,
        jwt_cert=jwt_cert,
    )
    app = FastAPI(title="Fake Salesforce", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.fake = fake

    @app.post("/services/oauth2/token")
    async def token(request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        auth = request.headers.get("authorization", "")
        basic = auth[6:] if auth.startswith("Basic ") else None
        status, body = fake.issue_token(form, basic)
        if status == 200:
            body["instance_url"] = str(request.base_url).rstrip("/")
        return JSONResponse(body, status_code=status, media_type=JSON_MEDIA_TYPE)

    @app.get("/services/data/")
    async def versions() -> JSONResponse:
        items = []
        v = MIN_VERSION
        while v <= MAX_VERSION:
            items.append(
                {"version": f"{v:.1f}", "label": f"v{v:.1f}", "url": f"/services/data/v{v:.1f}"}
            )
            v += 1.0
        return JSONResponse(items, media_type=JSON_MEDIA_TYPE)

    @app.api_route(
        "/services/data/{version}/{rest:path}", methods=["GET", "POST", "PATCH", "DELETE"]
    )
    async def data(request: Request, version: str, rest: str) -> Response:
        try:
            response = await _handle(request, version, rest)
        except SfError as err:
            response = _error(err)
        response.headers["Sforce-Limit-Info"] = fake.limit_info()
        return response

    async def _handle(request: Request, version: str, rest: str) -> Response:
        m = re.fullmatch(r"v(\d+\.\d)", version)
        if m is None or not MIN_VERSION <= float(m[1]) <= MAX_VERSION:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        fake.check_session(request.headers.get("authorization"))
        fake.count_call()
        number = id(request)
        fake.start_request(number)
        try:
            return await _handle_counted(request, version, rest)
        finally:
            fake.in_flight.pop(number, None)

    async def _handle_counted(request: Request, version: str, rest: str) -> Response:
        fault = fake.take_fault(request.url.path)
        if fault is not None:
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            if fault.kind == "server_unavailable":
                raise SfError(503, "SERVER_UNAVAILABLE", "Server is unavailable, please try later")
            if fault.kind == "request_limit":
                raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            if fault.kind == "duplicate_value":
                fake.duplicate_next_record = True
            if fault.kind == "unable_to_lock_row" and "/composite/sobjects" in request.url.path:
                fake.lock_next_record = True  # collections report it on the record
            elif fault.kind == "unable_to_lock_row" and request.method != "GET":
                raise SfError(
                    400,
                    "UNABLE_TO_LOCK_ROW",
                    "unable to obtain exclusive access to this record or 1 records",
                )
        body: Any = None
        raw = await request.body()
        if request.method in ("POST", "PATCH") and raw:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise SfError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc
        base = f"/services/data/{version}"
        with fake.state.lock:
            response = _route(
                request.method, rest.strip("/"), body, dict(request.query_params), base
            )
            if request.method != "GET":
                fake.state.save()
        if fault is not None and fault.kind == "drop_after_commit":
            return Response(b"", status_code=502)
        return response

    def _route(method: str, rest: str, body: Any, params: dict[str, str], base: str) -> Response:
        parts = rest.split("/")
        ok = JSON_MEDIA_TYPE
        if rest == "limits" and method == "GET":
            used = len(fake.calls)
            return JSONResponse(
                {
                    "DailyApiRequests": {
                        "Max": fake.daily_limit,
                        "Remaining": fake.daily_limit - used,
                    }
                },
                media_type=ok,
            )
        if rest == "query" and method == "GET":
            if "q" not in params:
                raise SfError(400, "MALFORMED_QUERY", "A query string has to be specified")
            rows = fake.query(params["q"])
            return JSONResponse(fake.page(base, rows, 0, secrets.token_hex(8)), media_type=ok)
        if parts[0] == "query" and len(parts) == 2 and method == "GET":
            locator, _, offset = parts[1].rpartition("-")
            stored = fake.locators.get(locator)
            if stored is None or not offset.isdigit():
                raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return JSONResponse(fake.page(base, stored, int(offset), locator), media_type=ok)
        if parts[0] == "sobjects" and len(parts) >= 2:
            sobject = parts[1]
            if sobject not in OBJECTS:
                raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
            if len(parts) == 2 and method == "POST":
                if not isinstance(body, dict):
                    raise SfError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
                try:
                    record = fake.create(sobject, body)
                except RecordError as err:
                    raise SfError(400, err.code, err.message, err.fields) from err
                return JSONResponse(
                    {"id": record["Id"], "success": True, "errors": []},
                    status_code=201,
                    media_type=ok,
                )
            if len(parts) == 3 and parts[2] == "describe" and method == "GET":
                return JSONResponse(fake.describe_type(sobject), media_type=ok)
            if len(parts) == 3 and method == "GET":
                record = fake.get(sobject, parts[2])
                wanted = [f for f in params.get("fields", "").split(",") if f]
                shown = {f: record.get(f) for f in wanted} if wanted else dict(record)
                url = f"{base}/sobjects/{sobject}/{record['Id']}"
                return JSONResponse(
                    {"attributes": {"type": sobject, "url": url}, **shown}, media_type=ok
                )
            if len(parts) == 3 and method == "PATCH":
                fake.get(sobject, parts[2])
                try:
                    fake.update(sobject, parts[2], body or {})
                except RecordError as err:
                    raise SfError(400, err.code, err.message, err.fields) from err
                return Response(status_code=204)
        if rest == "composite" and method == "POST":
            return JSONResponse(_composite(body, base), media_type=ok)
        if parts[:2] == ["composite", "sobjects"]:
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                raise SfError(400, "JSON_PARSER_ERROR", "Expected {allOrNone, records: [...]}")
            records: list[Any] = body["records"]
            if len(records) > MAX_COLLECTION:
                raise SfError(
                    400,
                    "EXCEEDED_ID_LIMIT",
                    f"record limit reached. cannot submit more than {MAX_COLLECTION} records"
                    " into this call",
                )
            types = [(r.get("attributes") or {}).get("type") if isinstance(r, dict) else None
                     for r in records]  # fmt: skip
            chunks = sum(1 for i, t in enumerate(types) if i == 0 or t != types[i - 1])
            if chunks > MAX_CHUNKS:  # each run of one type is a chunk
                raise SfError(400, "EXCEEDED_MAX_TYPES_LIMIT",
                              "Cannot have more than 10 chunks in a single operation. Please "
                              "rearrange the data to reduce chunking.")  # fmt: skip
            if len(parts) == 2 and method == "POST":
                return JSONResponse(
                    _collection(records, bool(body.get("allOrNone")), None), media_type=ok
                )
            if len(parts) == 2 and method == "PATCH":  # update by Id
                return JSONResponse(
                    _collection(records, bool(body.get("allOrNone")), None, update=True),
                    media_type=ok,
                )
            if len(parts) == 4 and method == "PATCH":
                sobject, field = parts[2], parts[3]
                if sobject not in OBJECTS:
                    raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
                if field not in OBJECTS[sobject]["external_ids"]:
                    raise SfError(
                        400,
                        "INVALID_FIELD",
                        f"Field name provided, {field} is not an External ID or indexed field"
                        f" for {sobject}",
                    )
                for rec in records:
                    rtype = (
                        (rec.get("attributes") or {}).get("type") if isinstance(rec, dict) else None
                    )
                    if rtype != sobject:
                        raise SfError(
                            400, "INVALID_INPUT", "All records must be of the type given in the URL"
                        )
                return JSONResponse(
                    _collection(records, bool(body.get("allOrNone")), (sobject, field)),
                    media_type=ok,
                )
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")

    def _composite(body: Any, base: str) -> dict[str, Any]:
        """``POST /composite``: up to 25 subrequests (5 queries) in order, ``@{ref.field}``
        taken from earlier answers, one API call; with allOrNone a failure undoes them all."""
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
        snapshot, seq = json.loads(json.dumps(fake.records)), fake.state.data["seq"]
        answers: dict[str, Any] = {}
        out: list[dict[str, Any]] = []
        failed = False

        def resolve(text: str) -> str:
            def one(m: re.Match[str]) -> str:
                value: Any = answers.get(m[1])
                for key in m[2].split("."):
                    value = value.get(key) if isinstance(value, dict) else None
                if value is None:
                    raise SfError(400, "INVALID_REFERENCE", f"reference {m[0]} cannot be resolved")
                return str(value)

            return _REFERENCE.sub(one, text)

        for sub in subs:
            ref = str(sub.get("referenceId")) if isinstance(sub, dict) else ""
            if failed and all_or_none:
                out.append({"body": [{"errorCode": "PROCESSING_HALTED", "message": "The "
                            "transaction was rolled back since another operation in the same "
                            "transaction failed."}], "httpHeaders": {}, "httpStatusCode": 400,
                            "referenceId": ref})  # fmt: skip
                continue
            try:
                if not isinstance(sub, dict) or not sub.get("method") or not sub.get("url"):
                    raise SfError(400, "JSON_PARSER_ERROR", "each subrequest needs method and url")
                url = resolve(str(sub["url"]))
                path, _, query = url.partition("?")
                if not path.startswith(base + "/"):
                    raise SfError(400, "INVALID_URL", f"{path} is not under {base}")
                sub_body = (
                    json.loads(resolve(json.dumps(sub.get("body")))) if sub.get("body") else None
                )
                params = dict(parse_qsl(query))
                answer = _route(str(sub["method"]).upper(), path[len(base) + 1 :], sub_body,
                                params, base)  # fmt: skip
                content = json.loads(bytes(answer.body)) if answer.body else None
                answers[ref] = content
                out.append({"body": content, "httpHeaders": {},
                            "httpStatusCode": answer.status_code, "referenceId": ref})  # fmt: skip
            except SfError as err:
                failed = True
                error: dict[str, Any] = {"errorCode": err.code, "message": err.message}
                if err.fields:
                    error["fields"] = err.fields
                out.append({"body": [error], "httpHeaders": {}, "httpStatusCode": err.status,
                            "referenceId": ref})  # fmt: skip
        if failed and all_or_none:
            fake.state.data["records"], fake.state.data["seq"] = snapshot, seq
        return {"compositeResponse": out}

    def _collection(
        records: list[Any], all_or_none: bool, upsert: tuple[str, str] | None, update: bool = False
    ) -> list[dict[str, Any]]:
        snapshot = json.loads(json.dumps(fake.records))
        seq = fake.state.data["seq"]
        results: list[dict[str, Any]] = []
        failed = False
        lock_first, fake.lock_next_record = fake.lock_next_record, False
        duplicate_first, fake.duplicate_next_record = fake.duplicate_next_record, False
        for index, rec in enumerate(records):
            try:
                if not isinstance(rec, dict):
                    raise RecordError("JSON_PARSER_ERROR", "Expected a JSON object")
                if index == 0 and lock_first:
                    raise RecordError(
                        "UNABLE_TO_LOCK_ROW",
                        "unable to obtain exclusive access to this record or 1 records",
                    )
                if index == 0 and duplicate_first:
                    raise RecordError("DUPLICATE_VALUE",
                                      "duplicate value found: <unknown> duplicates value on record "
                                      "with id: <unknown>")  # fmt: skip
                sobject = (rec.get("attributes") or {}).get("type")
                if sobject not in OBJECTS:
                    raise RecordError("INVALID_TYPE", f"sObject type '{sobject}' is not supported")
                if update:
                    record_id = rec.get("Id")
                    if not isinstance(record_id, str) or record_id not in fake.records[sobject]:
                        raise RecordError("ENTITY_IS_DELETED", f"entity is deleted: {record_id}")
                    values = {k: v for k, v in rec.items() if k != "Id"}
                    record, created = fake.update(sobject, record_id, values), False
                elif upsert is None:
                    record, created = fake.create(sobject, rec), True
                else:
                    record, created = fake.upsert(upsert[0], upsert[1], rec)
                result: dict[str, Any] = {"id": record["Id"], "success": True, "errors": []}
                if upsert is not None:
                    result["created"] = created
                results.append(result)
            except RecordError as err:
                failed = True
                results.append({"success": False, "errors": [err.as_status()]})
        if all_or_none and failed:
            fake.state.data["records"] = snapshot
            fake.state.data["seq"] = seq
            rolled = {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the "
                "request was using AllOrNone header",
                "fields": [],
            }
            results = [
                r if not r["success"] else {"success": False, "errors": [rolled]} for r in results
            ]
        return results

    @app.get("/", include_in_schema=False)
    async def home() -> HTMLResponse:
        with fake.state.lock:
            holds = {f"{name} records": len(rows) for name, rows in fake.records.items()}
        holds["faults waiting"] = len(fake.faults)
        holds["API calls in the last 24 hours"] = len(fake.calls)
        return home_page(app, holds, "A local stand-in for Salesforce's REST API "
                         "(/services/oauth2/token, /services/data/vXX.X/...).")  # fmt: skip

    @app.post("/_fake/faults")
    async def add_fault(request: Request) -> JSONResponse:
        """Make the next calls fail, slow down or lose their answer (a JSON fault spec)."""
        spec = await request.json()
        if not isinstance(spec, dict) or spec.get("kind") not in FAULT_KINDS:
            return JSONResponse(
                {"error": f"kind must be one of {sorted(FAULT_KINDS)}"}, status_code=400
            )
        rate = spec.get("rate")
        if rate is not None and not 0.0 <= float(rate) <= 1.0:
            return JSONResponse({"error": "rate must be between 0 and 1"}, status_code=400)
        fault = Fault(
            kind=spec["kind"],
            count=int(spec.get("count", 1)),
            rate=None if rate is None else float(rate),
            path_contains=spec.get("path_contains"),
            delay_s=float(spec.get("delay_s", 0.0)),
        )
        fake.faults.append(fault)
        return JSONResponse({"faults": len(fake.faults)})

    @app.delete("/_fake/faults")
    async def clear_faults() -> JSONResponse:
        """Drop every fault still waiting."""
        fake.faults.clear()
        return JSONResponse({"faults": 0})

    @app.post("/_fake/refresh-token")
    async def refresh_token() -> JSONResponse:
        """A refresh token for the refresh_token grant (as the web-server flow hands out)."""
        return JSONResponse({"refresh_token": fake.mint_refresh_token()})

    @app.post("/_fake/revoke-token")
    async def revoke() -> JSONResponse:
        """Revoke every session (the next call gets INVALID_SESSION_ID)."""
        return JSONResponse({"revoked": fake.revoke_all()})

    @app.get("/_fake/records/{sobject}")
    async def read_records(sobject: str) -> JSONResponse:
        """The records of one sObject (Task, Lead, Contact, User)."""
        if sobject not in OBJECTS:
            return JSONResponse({"error": f"unknown sObject {sobject}"}, status_code=404)
        return JSONResponse(list(fake.records[sobject].values()))

    @app.post("/_fake/records/{sobject}")
    async def seed_record(sobject: str, request: Request) -> JSONResponse:
        """Create a Lead or Contact directly (as if an admin made it in Salesforce)."""
        if sobject not in OBJECTS:
            return JSONResponse({"error": f"unknown sObject {sobject}"}, status_code=404)
        try:
            with fake.state.lock:
                record = fake.create(sobject, await request.json())
                fake.state.save()
        except RecordError as err:
            return JSONResponse({"error": err.message, "errorCode": err.code}, status_code=400)
        return JSONResponse(record, status_code=201)

    @app.get("/_fake/stats")
    async def stats() -> JSONResponse:
        """API calls in the last 24 hours, token requests and records per sObject."""
        return JSONResponse(
            {
                "calls_24h": len(fake.calls),
                "token_requests": fake.token_requests,
                "records": {t: len(r) for t, r in fake.records.items()},
            }
        )

    @app.post("/_fake/reset")
    async def reset() -> JSONResponse:
        """Forget every record, fault and counted call."""
        with fake.state.lock:
            fake.state.data["records"] = {t: {} for t in OBJECTS}
            fake.state.data["seq"] = 0
            fake.state.save()
        fake.faults.clear()
        fake.calls.clear()
        return JSONResponse({"reset": True})

    return app
