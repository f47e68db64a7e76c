"""A fake Salesforce REST API (OAuth client credentials, JWT bearer and refresh token; sObjects,
sObject Collections with upsert by external id, composite, a SOQL subset, limits) for tests and
local runs.

Faithful where our client depends on it: errors are a JSON array of ``{message, errorCode}``,
collection SaveResults use ``statusCode``, a token carries no ``expires_in`` and dies after an
inactivity timeout (401 ``INVALID_SESSION_ID``), every response has ``Sforce-Limit-Info`` and the
rolling 24 h allocation ends in 403 ``REQUEST_LIMIT_EXCEEDED``.

The parts: the org's objects and checks (salesforce_objects), SOQL (salesforce_soql), the REST
resources (salesforce_rest), the token endpoint and the state here; the ``/_fake/`` admin
endpoints (faults, stats, reset) are the shared ones of devstack.fakes.admin, plus the records.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import load_pem_x509_certificate
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from devstack.fakes.admin import FakeStats, Faults, admin_router
from devstack.fakes.salesforce_objects import (
    INTEGRATION_USER,
    OBJECTS,
    ORG_ID,
    USER_ID,
    RecordError,
    SfError,
    not_found,
    validate,
)
from devstack.fakes.salesforce_rest import JSON_MEDIA_TYPE, data_router
from devstack.fakes.salesforce_soql import run_query
from devstack.fakes.state import JsonState
from devstack.fakes.times import sf_datetime

logger = logging.getLogger(__name__)
DAY_S = 86_400.0
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
LOCKED = "unable to obtain exclusive access to this record or 1 records"
# The errors a fault can inject (/_fake/faults), and what each answers.
FAULT_CODES = {
    "UNABLE_TO_LOCK_ROW": "400 on a write; in sObject Collections, on the first record",
    "DUPLICATE_VALUE": "the first record of the next collection write, as a unique field would",
    "SERVER_UNAVAILABLE": "503 SERVER_UNAVAILABLE",
    "REQUEST_LIMIT_EXCEEDED": "403 TotalRequests Limit exceeded.",
}


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _initial(now: float) -> dict[str, Any]:
    """A fresh org: no records but the integration user."""
    records: dict[str, dict[str, Any]] = {t: {} for t in OBJECTS}
    records["User"][USER_ID] = {**INTEGRATION_USER, "CreatedDate": sf_datetime(now),
                                "LastModifiedDate": sf_datetime(now)}  # fmt: skip
    return {"records": records, "seq": 0}


class FakeSalesforce:
    """The org's state and behaviour behind the fake app (``app.state.fake``)."""

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
        self.session_timeout_s = session_timeout_s
        self.daily_limit = daily_limit
        self.query_batch_size = query_batch_size
        self.clock = clock
        self.state = JsonState(state_file, _initial(clock()))
        self.faults = Faults(FAULT_CODES)
        self._fresh_counters()

    def _fresh_counters(self) -> None:
        self.in_flight: dict[int, float] = {}  # request number -> start
        self.refresh_tokens: set[str] = set()
        self.sessions: dict[str, float] = {}  # token -> last use
        self.calls: deque[float] = deque()  # counted calls in the rolling 24 hours
        self.locators: dict[str, list[dict[str, Any]]] = {}
        self.duplicate_next_record = False
        self.lock_next_record = False
        self.requests = self.counted = self.token_requests = 0
        self.by_path: dict[str, int] = {}
        self.errors: dict[str, int] = {}

    # -- auth ----------------------------------------------------------------------
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

    def revoke_tokens(self) -> list[str]:
        """End every session (the next call with one gets INVALID_SESSION_ID)."""
        revoked = list(self.sessions)
        self.sessions.clear()
        return revoked

    def check_session(self, authorization: str | None) -> None:
        token = (authorization or "").removeprefix("Bearer ").strip()
        last = self.sessions.get(token)
        now = self.clock()
        if last is None or now - last > self.session_timeout_s:
            self.sessions.pop(token, None)
            raise SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        self.sessions[token] = now

    def count_call(self, path: str) -> None:
        """Count a call against the rolling 24 h allocation, or refuse it when it is spent."""
        now = self.clock()
        while self.calls and self.calls[0] <= now - DAY_S:
            self.calls.popleft()
        if len(self.calls) >= self.daily_limit:
            raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.calls.append(now)
        self.counted += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1

    def limit_info(self) -> str:
        return f"api-usage={len(self.calls)}/{self.daily_limit}"

    def apply_fault(self, code: str | None, method: str, path: str) -> None:
        """Answer an injected error now, or arm it for the collection write to come."""
        if code == "SERVER_UNAVAILABLE":
            raise SfError(503, "SERVER_UNAVAILABLE", "Server is unavailable, please try later")
        if code == "REQUEST_LIMIT_EXCEEDED":
            raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if code == "DUPLICATE_VALUE":
            self.duplicate_next_record = True
        if code == "UNABLE_TO_LOCK_ROW" and "/composite/sobjects" in path:
            self.lock_next_record = True  # collections report it on the record
        elif code == "UNABLE_TO_LOCK_ROW" and method != "GET":
            raise SfError(400, "UNABLE_TO_LOCK_ROW", LOCKED)

    # -- admin -----------------------------------------------------------------------------
    def fake_stats(self) -> FakeStats:
        """The shared admin stats; ``usage`` has the rolling 24 h allocation."""
        with self.state.lock:
            holds = {f"{name} records": len(rows) for name, rows in self.records.items()}
        return FakeStats(
            requests=self.requests,
            calls=self.counted,
            token_requests=self.token_requests,
            by_path=dict(self.by_path),
            errors=dict(self.errors),
            usage={
                "calls_24h": len(self.calls),
                "daily_limit": self.daily_limit,
                "in_flight": len(self.in_flight),
            },
            holds=holds,
            faults=list(self.faults),
        )

    def reset(self) -> None:
        """As freshly started: no records (but the integration user), sessions or counters."""
        with self.state.lock:
            self.state.data = _initial(self.clock())
            self.state.save()
        self.faults.clear()
        self._fresh_counters()

    def snapshot(self) -> dict[str, Any]:
        """The records as they are now, for an all-or-none rollback."""
        with self.state.lock:
            copy: dict[str, Any] = json.loads(json.dumps(self.state.data))
        return copy

    def restore(self, snapshot: dict[str, Any]) -> None:
        for key in ("records", "seq", "deleted"):
            self.state.data[key] = snapshot.get(key, {})

    # -- records ---------------------------------------------------------------------------
    @property
    def records(self) -> dict[str, dict[str, dict[str, Any]]]:
        records: dict[str, dict[str, dict[str, Any]]] = self.state.data["records"]
        return records

    def _new_id(self, sobject: str) -> str:
        self.state.data["seq"] += 1
        return f"{OBJECTS[sobject]['prefix']}{self.state.data['seq']:012d}AAA"

    def create(self, sobject: str, values: dict[str, Any]) -> dict[str, Any]:
        clean = validate(sobject, values, creating=True)
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
        stamp = sf_datetime(self.clock())
        record.update(Id=new_id, CreatedDate=stamp, LastModifiedDate=stamp, IsDeleted=False)
        self.records[sobject][new_id] = record
        return record

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
        record = self.records[sobject].get(record_id)
        if record is None:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        clean = validate(sobject, values, creating=False)
        record.update(clean)
        record["LastModifiedDate"] = sf_datetime(self.clock())
        return record

    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        if sobject not in OBJECTS:
            raise not_found()
        record = self.records[sobject].get(record_id)
        if record is None:
            if record_id in self.deleted.get(sobject, {}):
                raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted")
            raise not_found()
        return record

    @property
    def deleted(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Deleted records by type (the Recycle Bin), which only queryAll still finds."""
        deleted: dict[str, dict[str, dict[str, Any]]] = self.state.data.setdefault("deleted", {})
        return deleted

    def delete(self, sobject: str, record_id: str) -> None:
        """Move a record to the Recycle Bin (IsDeleted true)."""
        record = self.get(sobject, record_id)
        del self.records[sobject][record_id]
        record.update(IsDeleted=True, LastModifiedDate=sf_datetime(self.clock()))
        self.deleted.setdefault(sobject, {})[record_id] = record

    def find(self, sobject: str, field: str, value: Any) -> list[dict[str, Any]]:
        """The records whose ``field`` has ``value``."""
        return [r for r in self.records[sobject].values() if r.get(field) == value]

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

    # -- query ---------------------------------------------------------------------------
    def query(
        self, soql: str, *, include_deleted: bool = False
    ) -> tuple[list[dict[str, Any]], bool]:
        if not include_deleted:
            return run_query(self.records, soql)
        everything = {t: {**rows, **self.deleted.get(t, {})} for t, rows in self.records.items()}
        return run_query(everything, soql)

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


def auth_router(fake: FakeSalesforce) -> APIRouter:
    """``/services/oauth2/token``: client credentials, JWT bearer, refresh token."""
    router = APIRouter()

    @router.post("/services/oauth2/token")
    async def token(request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        auth = request.headers.get("authorization", "")
        basic = auth[6:] if auth.startswith("Basic ") else None
        status, body = fake.issue_token(form, basic)
        if status == 200:
            body["instance_url"] = str(request.base_url).rstrip("/")
        return JSONResponse(body, status_code=status, media_type=JSON_MEDIA_TYPE)

    return router


def records_router(fake: FakeSalesforce) -> APIRouter:
    """The Salesforce-only admin endpoints: records read back and seeded, refresh tokens."""
    router = APIRouter()

    @router.post("/_fake/refresh-token")
    async def refresh_token() -> JSONResponse:
        """A refresh token for the refresh_token grant (as the web-server flow hands out)."""
        return JSONResponse({"refresh_token": fake.mint_refresh_token()})

    @router.get("/_fake/records/{sobject}")
    async def read_records(sobject: str) -> JSONResponse:
        """The records of one sObject (Task, Lead, Contact, User)."""
        if sobject not in OBJECTS:
            return JSONResponse({"error": f"unknown sObject {sobject}"}, status_code=404)
        return JSONResponse(list(fake.records[sobject].values()))

    @router.post("/_fake/records/{sobject}")
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

    return router


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
    app.include_router(auth_router(fake))
    app.include_router(data_router(fake))
    about = (
        "A local stand-in for Salesforce's REST API (/services/oauth2/token, /services/data/...)."
    )
    app.include_router(admin_router(fake, about))
    app.include_router(records_router(fake))
    return app
