"""Async client for the Marketo REST API (leads, activities, custom activity types).

What it takes care of:
- the Identity token: cached until ``expires_in`` runs out; Identity hands back the *same* token
  near its end of life (even with ``expires_in`` 0), so such a token is waited out and asked for
  again; on 601/602 a fresh token is always fetched and the call retried once;
- ``success: false`` on HTTP 200, HTTP 413/414/5xx, non-JSON bodies and transport errors all
  become `MarketoError`, classified ``retryable`` or not (the caller, e.g. a Temporal activity,
  owns retries and backoff);
- a semaphore caps this client's concurrent calls (Marketo allows 10 per instance, shared by all
  integrations);
- long GET query strings are sent as ``POST ?_method=GET`` with a form body (URI limit 8 KB).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from cadence.domain.instants import iso_z

CHICAGO = ZoneInfo("America/Chicago")
MAX_BATCH = 300
MAX_ACTIVITY_TYPE_IDS = 10
MAX_ACTIVITY_LEAD_IDS = 30
ADD_ACTIVITIES_TIMEOUT_S = 95.0
MAX_URI_CHARS = 7800  # Marketo rejects URIs over 8 KB with HTTP 414

RETRYABLE_CODES = frozenset(
    {"502", "604", "606", "608", "611", "614", "615", "713", "719", "transport"}
)
AUTH_CODES = frozenset({"601", "602"})
# A 6xx code means the whole request failed and nothing ran (Marketo's error-code page): only
# an answer that never came (a timeout, a dropped connection) or an HTTP 5xx from the gateway
# leaves it open whether the call was carried out.


def seconds_until_quota_reset(now: datetime | None = None) -> float:
    """Seconds until the daily quota resets: the next 00:00 America/Chicago."""
    local = (now or datetime.now(UTC)).astimezone(CHICAGO)
    tomorrow = (local + timedelta(days=1)).date()
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=CHICAGO)
    return (midnight - local).total_seconds()


class MarketoError(Exception):
    """A failed Marketo call.

    ``code`` is Marketo's code as a string ("606", "1004"...), the HTTP status for HTTP-level
    failures ("413", "502"...), "401" for rejected client credentials, or "transport" for
    network errors and timeouts. ``retryable`` says whether the same call may succeed later;
    for 607 (daily quota) it is False and ``retry_after_s`` tells when the quota resets.
    ``ambiguous`` says whether the call may have been carried out all the same (a timeout, a
    dropped connection, a 5xx after the request went out): a write retried after it may
    duplicate.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
        errors: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        ambiguous: bool | None = None,
    ) -> None:
        super().__init__(f"Marketo {code}: {message}")
        self.code = code
        self.message = message
        self.retryable = classify(code) if retryable is None else retryable
        if ambiguous is None:
            ambiguous = code == "transport" or (len(code) == 3 and code.startswith("5"))
        self.ambiguous = ambiguous
        if retry_after_s is None and code == "607":
            retry_after_s = seconds_until_quota_reset()
        self.retry_after_s = retry_after_s
        self.errors = errors or [{"code": code, "message": message}]
        self.request_id = request_id


def classify(code: str) -> bool:
    """Whether an error code is worth retrying (the spec's table; 5xx HTTP statuses too)."""
    if code in RETRYABLE_CODES:
        return True
    return code.isdigit() and len(code) == 3 and code.startswith("5")


@dataclass
class ActivityPage:
    """One page of Get Lead Activities; call again with ``next_page_token`` while
    ``more_result`` is true (a page may be short or empty even then)."""

    activities: list[dict[str, Any]] = field(default_factory=list)
    next_page_token: str = ""
    more_result: bool = False


@dataclass
class _CachedToken:
    token: str | None = None
    valid_until: float = 0.0  # time.monotonic()


_SHARED_TOKENS: dict[tuple[str, str, str], _CachedToken] = {}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MarketoClient:
    """Marketo REST client. Use as ``async with MarketoClient(...) as client:``."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 30.0,
        max_concurrency: int = 5,
        add_timeout_s: float = ADD_ACTIVITIES_TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout = httpx.Timeout(timeout_s)
        self._add_timeout = httpx.Timeout(add_timeout_s)
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=self._timeout)
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._token_lock = asyncio.Lock()
        # Clients that own their HTTP client (the production path: one client per activity
        # run) share the token per (base URL, client id, secret); an injected HTTP client gets
        # its own. A new secret never reuses a token the old one got.
        key = (self.base_url, client_id, hashlib.sha256(client_secret.encode()).hexdigest())
        self._cache = (
            _SHARED_TOKENS.setdefault(key, _CachedToken()) if http is None else _CachedToken()
        )
        # Overridable in tests.
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._monotonic: Callable[[], float] = time.monotonic

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> MarketoClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ auth

    async def _identity(self) -> tuple[str, int]:
        params = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        try:
            resp = await self._http.get(
                f"{self.base_url}/identity/oauth/token", params=params, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise MarketoError(
                "transport", f"identity: {type(exc).__name__}: {exc}", ambiguous=False
            ) from exc
        body = self._json_body(resp)
        if resp.status_code in (400, 401, 403) or "access_token" not in body:
            description = body.get("error_description") or body.get("error") or resp.reason_phrase
            code = str(resp.status_code) if resp.status_code != 200 else "401"
            retryable = classify(code) if resp.status_code >= 500 else False
            raise MarketoError(
                code, f"identity: {description}", retryable=retryable, ambiguous=False
            )
        return str(body["access_token"]), int(body.get("expires_in") or 0)

    async def _get_token(self, stale: str | None = None) -> str:
        """A token believed valid. ``stale`` is a token the server just rejected."""
        async with self._token_lock:
            now = self._monotonic()
            cached = self._cache
            if cached.token is not None and cached.token != stale and now < cached.valid_until - 1:
                return cached.token
            token, expires_in = await self._identity()
            for _ in range(3):
                if expires_in > 1:
                    break
                # Identity returns the same token until it dies: wait it out, ask again.
                await self._sleep(expires_in + 1.0)
                token, expires_in = await self._identity()
            cached.token, cached.valid_until = token, self._monotonic() + expires_in
            return token

    # ------------------------------------------------------------------ transport

    @staticmethod
    def _json_body(resp: httpx.Response) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    async def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: Any,
        token: str,
        http_timeout: httpx.Timeout,
    ) -> httpx.Response:
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {token}"}
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        async with self._semaphore:
            try:
                if method == "GET" and len(str(httpx.URL(url, params=clean))) > MAX_URI_CHARS:
                    return await self._http.post(
                        url,
                        params={"_method": "GET"},
                        data=clean,
                        headers=headers,
                        timeout=http_timeout,
                    )
                return await self._http.request(
                    method, url, params=clean, json=json, headers=headers, timeout=http_timeout
                )
            except httpx.HTTPError as exc:
                unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                raise MarketoError(
                    "transport", f"{type(exc).__name__}: {exc}", ambiguous=not unsent
                ) from exc

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        http_timeout: httpx.Timeout | None = None,
    ) -> dict[str, Any]:
        """One REST call: returns the envelope of a successful response or raises."""
        stale: str | None = None
        for attempt in range(2):
            token = await self._get_token(stale)
            resp = await self._send(
                method, path, params, json, token, http_timeout or self._timeout
            )
            if resp.status_code != 200:
                raise MarketoError(
                    str(resp.status_code),
                    f"HTTP {resp.status_code} from {method} {path}",
                    retryable=resp.status_code >= 500,
                )
            body = self._json_body(resp)
            if "success" not in body:
                raise MarketoError(
                    "502", f"unexpected non-envelope response from {method} {path}", retryable=True
                )
            if body["success"]:
                return body
            errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
            if not errors:
                errors = [{"code": "611", "message": "success:false without errors"}]
            codes = {str(e.get("code")) for e in errors}
            if codes & AUTH_CODES and attempt == 0:
                stale = token
                continue
            first = errors[0]
            raise MarketoError(
                str(first.get("code")),
                str(first.get("message", "")),
                errors=errors,
                request_id=body.get("requestId"),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _result(body: dict[str, Any]) -> list[dict[str, Any]]:
        result = body.get("result") or []
        return [r for r in result if isinstance(r, dict)]

    # ------------------------------------------------------------------ leads

    async def sync_leads(
        self,
        leads: list[dict[str, Any]],
        action: str = "createOrUpdate",
        lookup_field: str = "email",
    ) -> list[dict[str, Any]]:
        """Create/update up to 300 leads; one result per input row, in order (check
        ``status``: created, updated or skipped with ``reasons``)."""
        if len(leads) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} leads per call, got {len(leads)}")
        if not leads:
            return []
        body = await self._call(
            "POST",
            "/rest/v1/leads.json",
            json={"action": action, "lookupField": lookup_field, "input": leads},
        )
        return self._result(body)

    async def get_lead(
        self, lead_id: int, fields: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        params = {"fields": ",".join(fields)} if fields else None
        body = await self._call("GET", f"/rest/v1/lead/{int(lead_id)}.json", params=params)
        result = self._result(body)
        return result[0] if result else None

    async def get_leads(
        self,
        filter_type: str,
        values: Sequence[str | int],
        fields: Sequence[str] | None = None,
        batch_size: int = MAX_BATCH,
    ) -> list[dict[str, Any]]:
        """All leads whose ``filter_type`` is one of ``values`` (chunked by 300, pages followed)."""
        leads: list[dict[str, Any]] = []
        for chunk in _chunks(list(values), MAX_BATCH):
            params: dict[str, Any] = {
                "filterType": filter_type,
                "filterValues": ",".join(str(v) for v in chunk),
                "batchSize": batch_size,
            }
            if fields:
                params["fields"] = ",".join(fields)
            while True:
                body = await self._call("GET", "/rest/v1/leads.json", params=params)
                leads.extend(self._result(body))
                token = body.get("nextPageToken")
                if not token:
                    break
                params = {**params, "nextPageToken": token}
        return leads

    async def describe_leads(self) -> list[dict[str, Any]]:
        return self._result(await self._call("GET", "/rest/v1/leads/describe.json"))

    # ------------------------------------------------------------------ activities

    async def get_paging_token(self, since: datetime) -> str:
        """A token for activities on or after ``since`` (naive datetimes are taken as UTC)."""
        body = await self._call(
            "GET", "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": iso_z(since)}
        )
        return str(body["nextPageToken"])

    async def get_activities(
        self,
        token: str,
        type_ids: Sequence[int],
        lead_ids: Sequence[int] | None = None,
        batch_size: int = MAX_BATCH,
    ) -> ActivityPage:
        if not type_ids or len(type_ids) > MAX_ACTIVITY_TYPE_IDS:
            raise ValueError(f"1 to {MAX_ACTIVITY_TYPE_IDS} activity type ids are required")
        if lead_ids is not None and len(lead_ids) > MAX_ACTIVITY_LEAD_IDS:
            raise ValueError(f"at most {MAX_ACTIVITY_LEAD_IDS} lead ids per call")
        params: dict[str, Any] = {
            "nextPageToken": token,
            "activityTypeIds": ",".join(str(int(t)) for t in type_ids),
            "batchSize": batch_size,
        }
        if lead_ids:
            params["leadIds"] = ",".join(str(int(i)) for i in lead_ids)
        body = await self._call("GET", "/rest/v1/activities.json", params=params)
        return ActivityPage(
            activities=self._result(body),
            next_page_token=str(body.get("nextPageToken") or token),
            more_result=bool(body.get("moreResult")),
        )

    async def get_lead_changes(
        self, token: str, fields: Sequence[str], batch_size: int = MAX_BATCH
    ) -> ActivityPage:
        """One page of Get Lead Changes: New Lead activities and the data value changes of
        ``fields``, after ``token``. The ``next_page_token`` is where the next call (now or in
        an hour) goes on from."""
        params: dict[str, Any] = {
            "nextPageToken": token,
            "fields": ",".join(fields),
            "batchSize": batch_size,
        }
        body = await self._call("GET", "/rest/v1/activities/leadchanges.json", params=params)
        return ActivityPage(
            activities=self._result(body),
            next_page_token=str(body.get("nextPageToken") or token),
            more_result=bool(body.get("moreResult")),
        )

    async def get_activity_types(self) -> list[dict[str, Any]]:
        return self._result(await self._call("GET", "/rest/v1/activities/types.json"))

    # ------------------------------------------------------------------ custom activity types

    async def list_custom_activity_types(self) -> list[dict[str, Any]]:
        return self._result(await self._call("GET", "/rest/v1/activities/external/types.json"))

    async def describe_custom_activity_type(
        self, api_name: str, *, draft: bool = False
    ) -> dict[str, Any]:
        params = {"draft": "true"} if draft else None
        path = f"/rest/v1/activities/external/type/{api_name}/describe.json"
        result = self._result(await self._call("GET", path, params=params))
        if not result:
            raise MarketoError("702", f"no description for activity type {api_name}")
        return result[0]

    async def create_custom_activity_type(
        self,
        api_name: str,
        name: str,
        trigger_name: str,
        filter_name: str,
        primary_attribute: dict[str, Any],
        description: str | None = None,
    ) -> dict[str, Any]:
        """Create a custom activity type (as a draft; approve it before use)."""
        payload: dict[str, Any] = {
            "apiName": api_name,
            "name": name,
            "triggerName": trigger_name,
            "filterName": filter_name,
            "primaryAttribute": primary_attribute,
        }
        if description:
            payload["description"] = description
        body = await self._call("POST", "/rest/v1/activities/external/type.json", json=payload)
        return self._result(body)[0]

    async def create_custom_activity_attributes(
        self, api_name: str, attributes: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Add secondary attributes (``apiName, name, dataType, description``) to the draft."""
        path = f"/rest/v1/activities/external/type/{api_name}/attributes/create.json"
        body = await self._call("POST", path, json={"attributes": attributes})
        return self._result(body)[0]

    async def approve_custom_activity_type(self, api_name: str) -> dict[str, Any]:
        path = f"/rest/v1/activities/external/type/{api_name}/approve.json"
        body = await self._call("POST", path)
        return self._result(body)[0]

    async def add_custom_activities(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add up to 300 custom activities; one result per row, in order. Check each row:
        ``status`` "added" (with ``marketoGUID``) or "skipped" (with ``errors``)."""
        if len(rows) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} activities per call, got {len(rows)}")
        if not rows:
            return []
        # Marketo gives this endpoint 90 s server-side; waiting less makes more ambiguous writes.
        body = await self._call(
            "POST",
            "/rest/v1/activities/external.json",
            json={"input": rows},
            http_timeout=self._add_timeout,
        )
        result = self._result(body)
        if len(result) != len(rows):
            raise MarketoError(
                "611",
                f"add custom activities returned {len(result)} results for {len(rows)} rows",
                retryable=False,
            )
        return result

    # ------------------------------------------------------------------ bulk lead extract

    async def export_leads(
        self,
        fields: Sequence[str],
        filter_: dict[str, Any],
        *,
        poll_s: float = 60.0,
        timeout_s: float = 6 * 3600.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> list[dict[str, str | None]]:
        """Bulk Lead Extract: create, enqueue (waiting while the queue is full), poll the status
        every ``poll_s`` (Marketo updates it once a minute), then read the CSV. Returns one
        dict per lead, with None where Marketo wrote ``null``. A job that fails or is
        canceled raises; one still running after ``timeout_s`` is canceled and raises.
        ``on_wait`` hears the status at every poll (an activity heartbeats with it)."""
        path = "/bulk/v1/leads/export"
        created = await self._call(
            "POST", f"{path}/create.json", json={"fields": list(fields), "filter": filter_}
        )
        export_id = str(self._result(created)[0]["exportId"])
        deadline = self._monotonic() + timeout_s
        while True:
            try:
                await self._call("POST", f"{path}/{export_id}/enqueue.json")
                break
            except MarketoError as err:  # 1029: the queue is full; wait for a slot
                if err.code != "1029" or "queue" not in err.message.lower():
                    raise
                if self._monotonic() > deadline:
                    raise
                await self._sleep(poll_s)
        while True:
            status = self._result(await self._call("GET", f"{path}/{export_id}/status.json"))
            state = str(status[0].get("status")) if status else "Unknown"
            if state.lower() == "completed":
                break
            # The docs spell it "Canceled" and "Cancelled" (the spec's enum: "cancelled").
            if state.lower() in ("failed", "canceled", "cancelled", "unknown"):
                message = status[0].get("errorMsg") if status else None
                raise MarketoError(
                    "1029", f"bulk export {export_id} {state.lower()}: {message}", retryable=True
                )
            if self._monotonic() > deadline:
                await self._call("POST", f"{path}/{export_id}/cancel.json")
                raise MarketoError("604", f"bulk export {export_id} still {state} at the deadline")
            if on_wait is not None:
                on_wait(state)
            await self._sleep(poll_s)
        text = await self._download(f"{path}/{export_id}/file.json")
        checksum = status[0].get("fileChecksum")
        if checksum and hashlib.sha256(text.encode()).hexdigest() != str(checksum).lower():
            raise MarketoError(
                "611", f"bulk export {export_id}: the file does not match its checksum",
                retryable=True,
            )  # fmt: skip
        reader = csv.DictReader(io.StringIO(text))
        return [{k: (None if v == "null" else v) for k, v in row.items()} for row in reader]

    async def _download(self, path: str) -> str:
        """A file endpoint: the body as text (an envelope instead means an error)."""
        timeout = httpx.Timeout(max(self._timeout.read or 0.0, 300.0))
        for attempt in range(2):
            token = await self._get_token()
            resp = await self._send("GET", path, None, None, token, timeout)
            if resp.status_code != 200:
                raise MarketoError(str(resp.status_code), f"HTTP {resp.status_code} from {path}")
            if not resp.headers.get("content-type", "").startswith("application/json"):
                return resp.text
            body = self._json_body(resp)
            errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
            codes = {str(e.get("code")) for e in errors}
            if codes & AUTH_CODES and attempt == 0:
                self._cache.token = None
                continue
            first = errors[0] if errors else {"code": "611", "message": "no file"}
            raise MarketoError(str(first.get("code")), str(first.get("message", "")))
        raise AssertionError("unreachable")  # pragma: no cover
