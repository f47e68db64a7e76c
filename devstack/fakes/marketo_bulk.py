"""Bulk Lead Extract for the fake Marketo: create, enqueue, status, file, cancel, list.

A job moves Created -> Queued -> Processing -> Completed on Marketo's clock: its status changes
at most once every ``step_s`` seconds (60 on a real instance), at most 2 jobs process at once
and at most 10 wait in the queue (1029). The filter is ``createdAt`` or ``updatedAt`` with a
``startAt``/``endAt`` range of 31 days at most; ``disabled_filters`` answers 1035 for the ones a
subscription lacks. The file is CSV, TSV or SSV with a header row (REST names unless
``columnHeaderNames`` overrides them), the literal ``null`` for empty values, and honours
``Range: bytes=``. Exports count toward a daily byte quota (500 MB; over it, 1029).
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.responses import Response

from devstack.fakes.times import iso_z as _iso

MAX_QUEUED = 10
MAX_PROCESSING = 2
MAX_RANGE = timedelta(days=31)
DAILY_BYTES = 500 * 1024 * 1024
KEEP = timedelta(days=7)
DELIMITERS = {"CSV": ",", "TSV": "\t", "SSV": " "}
DATE_FILTERS = ("createdAt", "updatedAt")
LIST_FILTERS = ("staticListId", "staticListName", "smartListId", "smartListName")


class BulkFail(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Job:
    export_id: str
    fields: list[str]
    headers: dict[str, str]
    format: str
    column: str  # createdAt or updatedAt
    start: datetime
    end: datetime
    created_at: float
    status: str = "Created"
    queued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    file: bytes = b""
    records: int = 0
    error: str | None = None
    changed_at: float = 0.0  # the last status change (one per step)

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "exportId": self.export_id,
            "format": self.format,
            "status": self.status,
            "createdAt": _iso(self.created_at),
        }
        for key, when in (("queuedAt", self.queued_at), ("startedAt", self.started_at),
                          ("finishedAt", self.finished_at)):  # fmt: skip
            if when is not None:
                out[key] = _iso(when)
        if self.status == "Completed":
            out |= {"numberOfRecords": self.records, "fileSize": len(self.file)}
            out["fileChecksum"] = hashlib.sha256(self.file).hexdigest()
        if self.error:
            out["errorMsg"] = self.error
        return out


def _status_key(status: str) -> str:
    key = status.strip().lower()
    return "canceled" if key == "cancelled" else key


def _parse(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise BulkFail("1003", f"{name} is required")
    text = value.replace("Z", "+00:00")
    if "." in text.split("T")[-1]:
        raise BulkFail("1003", f"{name}: milliseconds are not allowed")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BulkFail("1003", f"{name}: not an ISO-8601 date-time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class BulkExports:
    leads: Callable[[], dict[str, dict[str, Any]]]
    field_names: frozenset[str]
    clock: Callable[[], float]
    step_s: float = 60.0
    disabled_filters: frozenset[str] = frozenset()
    jobs: dict[str, Job] = field(default_factory=dict)
    exported: dict[str, int] = field(default_factory=dict)  # bytes per UTC day

    # -- the state machine -------------------------------------------------------------------

    def advance(self) -> None:
        """Move jobs on, one status change per job per step."""
        now = self.clock()
        for job in list(self.jobs.values()):
            if now - job.created_at > KEEP.total_seconds():
                del self.jobs[job.export_id]
        for job in self.jobs.values():
            if job.status == "Processing" and now - job.changed_at >= self.step_s:
                self._complete(job, now)
        processing = sum(j.status == "Processing" for j in self.jobs.values())
        waiting = sorted((j for j in self.jobs.values() if j.status == "Queued"),
                         key=lambda j: j.queued_at or 0)  # fmt: skip
        for job in waiting:
            if processing >= MAX_PROCESSING or now - job.changed_at < self.step_s:
                continue
            job.status, job.started_at, job.changed_at = "Processing", now, now
            processing += 1

    def _complete(self, job: Job, now: float) -> None:
        rows = []
        for lead in self.leads().values():
            stamp = _parse(lead.get(job.column) or lead["createdAt"], job.column)
            if job.start <= stamp <= job.end:
                rows.append(lead)
        rows.sort(key=lambda lead: int(lead["id"]))
        out = io.StringIO()
        writer = csv.writer(out, delimiter=DELIMITERS[job.format], lineterminator="\n")
        writer.writerow([job.headers.get(f, f) for f in job.fields])
        for lead in rows:
            writer.writerow(["null" if lead.get(f) in (None, "") else lead[f] for f in job.fields])
        data = out.getvalue().encode()
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        if self.exported.get(day, 0) + len(data) > DAILY_BYTES:
            job.status, job.error = "Failed", "Export daily quota exceeded"
        else:
            self.exported[day] = self.exported.get(day, 0) + len(data)
            job.status, job.file, job.records = "Completed", data, len(rows)
        job.finished_at = job.changed_at = now

    # -- endpoints ---------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        fields = body.get("fields")
        if not isinstance(fields, list) or not fields:
            raise BulkFail("1003", "fields is required")
        unknown = [f for f in fields if f not in self.field_names]
        if unknown:
            raise BulkFail("1003", f"Invalid fields: {', '.join(map(str, unknown))}")
        fmt = str(body.get("format") or "CSV").upper()
        if fmt not in DELIMITERS:
            raise BulkFail("1003", f"Invalid format: {fmt}")
        filt = body.get("filter")
        if not isinstance(filt, dict) or len(filt) != 1:
            raise BulkFail("1003", "filter must hold exactly one filter")
        ((kind, spec),) = filt.items()
        if kind in self.disabled_filters:
            raise BulkFail("1035", f"Unsupported filter type for target subscription: {kind}")
        if kind in LIST_FILTERS:
            raise BulkFail("1003", f"{kind}: no such list")
        if kind not in DATE_FILTERS or not isinstance(spec, dict):
            raise BulkFail("1003", f"Invalid filter: {kind}")
        start, end = _parse(spec.get("startAt"), "startAt"), _parse(spec.get("endAt"), "endAt")
        if end < start:
            raise BulkFail("1003", "endAt is before startAt")
        if end - start > MAX_RANGE:
            raise BulkFail("1003", "Date range exceeds 31 days")
        headers = body.get("columnHeaderNames") or {}
        now = self.clock()
        job = Job(str(uuid.uuid4()), [str(f) for f in fields], dict(headers), fmt, kind, start,
                  end, created_at=now, changed_at=now)  # fmt: skip
        self.jobs[job.export_id] = job
        return {"result": [job.public()]}

    def _job(self, export_id: str) -> Job:
        self.advance()
        job = self.jobs.get(export_id)
        if job is None:
            raise BulkFail("1003", f"Export id {export_id} not found")
        return job

    def enqueue(self, export_id: str) -> dict[str, Any]:
        job = self._job(export_id)
        if job.status != "Created":
            raise BulkFail("1029", f"Export id {export_id} is already {job.status.lower()}")
        if sum(j.status == "Queued" for j in self.jobs.values()) >= MAX_QUEUED:
            raise BulkFail("1029", "Too many jobs in queue")
        job.status, job.queued_at, job.changed_at = "Queued", self.clock(), self.clock()
        return {"result": [job.public()]}

    def status(self, export_id: str) -> dict[str, Any]:
        return {"result": [self._job(export_id).public()]}

    def cancel(self, export_id: str) -> dict[str, Any]:
        job = self._job(export_id)
        if job.status in ("Completed", "Failed", "Canceled"):
            raise BulkFail("1029", f"Export id {export_id} is already {job.status.lower()}")
        job.status, job.changed_at = "Canceled", self.clock()
        return {"result": [job.public()]}

    def listing(self, statuses: list[str]) -> dict[str, Any]:
        """The jobs of the last 7 days, filtered by status: any case, and either spelling of
        cancelled (the spec's enum is lower case with "cancelled"; jobs report "Canceled")."""
        self.advance()
        wanted = {_status_key(s) for s in statuses}
        jobs = [j for j in self.jobs.values() if not wanted or _status_key(j.status) in wanted]
        return {"result": [j.public() for j in jobs]}

    def file(self, export_id: str, range_header: str | None) -> Response:
        job = self._job(export_id)
        if job.status != "Completed":
            raise BulkFail("1003", f"Export id {export_id} is not completed ({job.status})")
        data, status = job.file, 200
        headers = {"Accept-Ranges": "bytes"}
        if range_header and range_header.startswith("bytes="):
            first, _, last = range_header[6:].partition("-")
            start = int(first) if first else max(0, len(data) - int(last))
            stop = int(last) + 1 if first and last else len(data)
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{len(data)}"
            data, status = data[start:stop], 206
        return Response(data, status_code=status, media_type="text/csv", headers=headers)
