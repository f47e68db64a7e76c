"""Async client for the Salesforce REST API (OAuth client credentials, sObject Collections
upsert by external id, SOQL queries).

What it takes care of:
- the token: fetched with the client-credentials flow and shared per (base URL, client id);
  Salesforce sends no ``expires_in``, so a 401 ``INVALID_SESSION_ID`` fetches a new token and
  retries the call once;
- errors (a JSON array of ``{message, errorCode}``, HTTP 5xx, non-JSON bodies, transport
  failures) become `SalesforceError`, classified ``retryable`` or not; the caller (a Temporal
  activity) owns retries and backoff;
- collections are sent in chunks of 200 with ``allOrNone: false``; record-level failures come
  back as `SaveResult` rows, never as exceptions.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

MAX_COLLECTION = 200
RETRYABLE_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "transport"}
)


class SalesforceError(Exception):
    """A failed Salesforce request (not a record-level failure inside a collection).
    ``retry_after_s``: when a limit says how long to wait (the org's daily API requests: an
    hour; long-running requests at once: half a minute; our own usage ceiling: a while)."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"Salesforce {status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.retryable = (
            (error_code in RETRYABLE_CODES or status >= 500) if retryable is None else retryable
        )
        if retry_after_s is None and error_code == "REQUEST_LIMIT_EXCEEDED":
            retry_after_s = 30.0 if "concurrent" in message.lower() else 3600.0
        self.retry_after_s = retry_after_s


@dataclass
class SaveResult:
    """One record's outcome in a collection call."""

    id: str | None
    success: bool
    errors: list[dict[str, Any]] = field(default_factory=list)
    created: bool | None = None


@dataclass
class _CachedToken:
    token: str | None = None
    instance_url: str | None = None
    api_used: int | None = None  # from Sforce-Limit-Info: api-usage=used/max
    api_max: int | None = None
    paused_until: float = 0.0  # time.monotonic(): no call before, the ceiling was reached


_SHARED_TOKENS: dict[tuple[str, str, str], _CachedToken] = {}
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
CEILING_PAUSE_S = 900.0  # at our usage ceiling: look again in a quarter of an hour


class SalesforceClient:
    """Salesforce REST client. Use as ``async with SalesforceClient(...) as client:``."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        api_version: str = "62.0",
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 60.0,
        usage_ceiling: float = 0.9,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.usage_ceiling = usage_ceiling  # share of the org's daily API requests we may use
        self.api_version = api_version
        self._client_id = client_id
        self._client_secret = client_secret
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(timeout_s))
        self._token_lock = asyncio.Lock()
        key = (self.base_url, client_id, hashlib.sha256(client_secret.encode()).hexdigest())
        self._cache = (
            _SHARED_TOKENS.setdefault(key, _CachedToken()) if http is None else _CachedToken()
        )

    async def __aenter__(self) -> SalesforceClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # ------------------------------------------------------------------ auth

    async def _fetch_token(self) -> tuple[str, str]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        try:
            resp = await self._http.post(f"{self.base_url}/services/oauth2/token", data=form)
        except httpx.HTTPError as exc:
            raise SalesforceError(0, "transport", f"token: {type(exc).__name__}: {exc}") from exc
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            error = body.get("error", "invalid_response") if isinstance(body, dict) else "?"
            description = (
                body.get("error_description", resp.reason_phrase)
                if isinstance(body, dict)
                else resp.reason_phrase
            )
            raise SalesforceError(
                resp.status_code,
                str(error),
                f"token: {description}",
                retryable=resp.status_code >= 500,
            )
        return str(body["access_token"]), str(body.get("instance_url") or self.base_url)

    async def _token(self, stale: str | None = None) -> tuple[str, str]:
        async with self._token_lock:
            cached = self._cache
            if cached.token is None or cached.token == stale:
                cached.token, cached.instance_url = await self._fetch_token()
            return cached.token, cached.instance_url or self.base_url

    # ------------------------------------------------------------------ requests

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, max) of the org's daily API requests, as the last response said."""
        cached = self._cache
        return None if cached.api_max is None else (cached.api_used or 0, cached.api_max)

    def _check_ceiling(self) -> None:
        """Leave the org's other integrations their share: past ``usage_ceiling`` of the
        daily requests, no call goes out for a while (then one looks again)."""
        cached, now = self._cache, time.monotonic()
        if now < cached.paused_until:
            raise SalesforceError(
                403, "API_USAGE_CEILING",
                f"{cached.api_used}/{cached.api_max} daily API requests used; the ceiling is "
                f"{self.usage_ceiling:.0%}", retryable=True,
                retry_after_s=cached.paused_until - now,
            )  # fmt: skip

    def _note_usage(self, resp: httpx.Response) -> None:
        found = _LIMIT_INFO.search(resp.headers.get("sforce-limit-info", ""))
        if found is None:
            return
        cached = self._cache
        cached.api_used, cached.api_max = int(found[1]), int(found[2])
        if cached.api_max and cached.api_used >= self.usage_ceiling * cached.api_max:
            cached.paused_until = time.monotonic() + CEILING_PAUSE_S

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``{instance}/services/data/vNN.N{path}`` (or an absolute ``/services`` path);
        returns the decoded JSON body (None for 204)."""
        self._check_ceiling()
        token, instance = await self._token()
        for attempt in (1, 2):
            url = (
                path
                if path.startswith("/services/")
                else (f"/services/data/v{self.api_version}{path}")
            )
            try:
                resp = await self._http.request(
                    method, instance + url, headers={"Authorization": f"Bearer {token}"}, **kwargs
                )
            except httpx.HTTPError as exc:
                raise SalesforceError(0, "transport", f"{type(exc).__name__}: {exc}") from exc
            self._note_usage(resp)
            if resp.status_code == 401 and attempt == 1:
                token, instance = await self._token(stale=token)
                continue
            return self._decode(resp)
        raise AssertionError("unreachable")

    @staticmethod
    def _decode(resp: httpx.Response) -> Any:
        if resp.status_code == 204:
            return None
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code < 300 and body is not None:
            return body
        if isinstance(body, list) and body and isinstance(body[0], dict):
            code = str(body[0].get("errorCode", resp.status_code))
            message = str(body[0].get("message", ""))
        else:
            code, message = f"HTTP_{resp.status_code}", resp.text[:200] or resp.reason_phrase
        raise SalesforceError(resp.status_code, code, message)

    async def upsert_collection(
        self, sobject: str, external_id_field: str, records: Sequence[dict[str, Any]]
    ) -> list[SaveResult]:
        """Create or update ``records`` by ``external_id_field``, 200 per request, results in
        the order given."""
        results: list[SaveResult] = []
        for start in range(0, len(records), MAX_COLLECTION):
            chunk = [
                {**rec, "attributes": {"type": sobject}}
                for rec in records[start : start + MAX_COLLECTION]
            ]
            body = await self.request(
                "PATCH",
                f"/composite/sobjects/{sobject}/{external_id_field}",
                json={"allOrNone": False, "records": chunk},
            )
            results.extend(
                SaveResult(
                    id=row.get("id"),
                    success=bool(row.get("success")),
                    errors=list(row.get("errors") or []),
                    created=row.get("created"),
                )
                for row in body
            )
        return results

    async def update_collection(
        self, records: Sequence[tuple[str, str, dict[str, Any]]]
    ) -> list[SaveResult]:
        """Update records by Id: (sObject type, Id, fields) each, 200 per request."""
        results: list[SaveResult] = []
        for start in range(0, len(records), MAX_COLLECTION):
            chunk = [
                {"attributes": {"type": sobject}, "Id": record_id, **fields}
                for sobject, record_id, fields in records[start : start + MAX_COLLECTION]
            ]
            body = await self.request(
                "PATCH", "/composite/sobjects", json={"allOrNone": False, "records": chunk}
            )
            results.extend(
                SaveResult(
                    id=row.get("id"),
                    success=bool(row.get("success")),
                    errors=list(row.get("errors") or []),
                )
                for row in body
            )
        return results

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record a SOQL query returns, following ``nextRecordsUrl``."""
        body = await self.request("GET", "/query", params={"q": soql})
        records: list[dict[str, Any]] = list(body.get("records", []))
        while not body.get("done", True) and body.get("nextRecordsUrl"):
            body = await self.request("GET", body["nextRecordsUrl"])
            records.extend(body.get("records", []))
        return records
