"""Every route that queries, updates or signals a workflow answers a Temporal failure with a
JSON 409 or 503 saying what happened, never a bare 500 (a stand-in Temporal client raises)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session
from temporalio.client import (
    WorkflowExecutionStatus as RunStatus,
)
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import get_temporal
from api.main import create_app
from cadence.core.auth import create_user
from cadence.core.db import get_engine
from cadence.core.models import Campaign, Enrollment, Person, Role, Task

ERRORS: dict[str, tuple[BaseException, int, str]] = {
    "query failed": (WorkflowQueryFailedError("list index out of range"), 503,
                     "list index out of range"),
    "query rejected": (WorkflowQueryRejectedError(RunStatus.TERMINATED), 409, "ended"),
    "update refused": (WorkflowUpdateFailedError(ApplicationError("only a paused one")), 409,
                       "only a paused one"),
    "update failed": (WorkflowUpdateFailedError(ApplicationError("boom", type="KeyError")), 409,
                      "boom"),
    "update timed out": (WorkflowUpdateRPCTimeoutOrCancelledError(), 503, "did not answer"),
    "closed": (RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b""),
               409, "not running"),
    "unavailable": (RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b""), 503,
                    "Temporal"),
    "deadline": (RPCError("deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b""), 503,
                 "Temporal"),
}  # fmt: skip


class FailingHandle:
    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.id = "enrollment/1/1"

    async def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error

    query = execute_update = signal = describe = result = _fail


class FailingClient:
    """Answers every workflow call with one error."""

    namespace = "default"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def get_workflow_handle_for(self, *args: Any, **kwargs: Any) -> FailingHandle:
        return FailingHandle(self.error)

    def get_workflow_handle(self, *args: Any, **kwargs: Any) -> FailingHandle:
        return FailingHandle(self.error)


@pytest.fixture
def seeded(database: str) -> Iterator[dict[str, Any]]:
    """A user, a campaign, a running enrollment with an open task."""
    with Session(get_engine(database)) as session:
        admin, token = create_user(session, name="Admin", email="a@seller.test", role=Role.admin)
        person = Person(id=1, email="ada@example.com")
        campaign = Campaign(name="C")
        session.add(person)
        session.add(campaign)
        session.commit()
        assert campaign.id is not None and admin.id is not None
        row = Enrollment(campaign_id=campaign.id, campaign_version=1, person_id=1,
                         owner_id=admin.id, workflow_id="enrollment/1/1")  # fmt: skip
        session.add(row)
        session.commit()
        assert row.id is not None
        task = Task(key="enrollment/1/1/call", enrollment_id=row.id, workflow_id=row.workflow_id,
                    step_id="call", type="call", title="Call", person_id=1, owner_id=admin.id,
                    due_at=row.created_at)  # fmt: skip
        session.add(task)
        session.commit()
        yield {"token": token, "enrollment": row.id, "task": task.id, "campaign": campaign.id}


@pytest.fixture(params=list(ERRORS))
async def failing_api(
    request: pytest.FixtureRequest, seeded: dict[str, Any]
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any], tuple[BaseException, int, str]]]:
    error = ERRORS[request.param]
    app = create_app()
    app.dependency_overrides[get_temporal] = lambda: FailingClient(error[0])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {seeded['token']}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://api",
                                 headers=headers) as http:  # fmt: skip
        yield http, seeded, error


ROUTES = [
    ("GET", "/enrollments/{enrollment}", None),
    ("GET", "/enrollments/{enrollment}/timeline", None),
    ("POST", "/enrollments/{enrollment}/pause", None),
    ("POST", "/enrollments/{enrollment}/resume", None),
    ("POST", "/enrollments/{enrollment}/mark-success", None),
    ("POST", "/enrollments/{enrollment}/remove", None),
    ("POST", "/enrollments/{enrollment}/skip-step", {"step_id": "later"}),
    ("POST", "/enrollments/{enrollment}/reschedule",
     {"step_id": "later", "at": "2030-01-02T10:00:00+00:00"}),
    ("POST", "/tasks/{task}/complete", None),
    ("POST", "/tasks/{task}/skip", None),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_a_workflow_failure_is_a_clear_json_answer(
    failing_api: tuple[httpx.AsyncClient, dict[str, Any], tuple[BaseException, int, str]],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    http, ids, (error, expected, words) = failing_api
    response = await http.request(method, path.format(**ids), json=body)
    if method == "GET" and path.endswith("{enrollment}"):
        # Reading an enrollment answers from its database row, and says why the workflow's
        # own view is missing.
        assert response.status_code == 200, response.text
        assert response.json()["live"] is None and response.json()["live_error"]
        return
    gone = isinstance(error, WorkflowQueryRejectedError) or (
        isinstance(error, RPCError) and error.status == RPCStatusCode.NOT_FOUND
    )
    if method == "GET" and gone:
        expected = 404  # a read of a workflow that is not running: nothing to read
    assert response.status_code == expected, response.text
    assert response.headers["content-type"] == "application/json"
    assert words in response.json()["detail"]


async def test_migrating_reports_each_enrollment_it_could_not_reach(
    failing_api: tuple[httpx.AsyncClient, dict[str, Any], tuple[BaseException, int, str]],
) -> None:
    http, ids, _ = failing_api
    with Session(get_engine()) as session:
        from cadence.core.models import CampaignVersion

        session.add(CampaignVersion(campaign_id=ids["campaign"], version=2, source_yaml="",
                                    playbook={"name": "x", "steps": [{"id": "a", "day": 1,
                                              "type": "call", "title": "t"}]}))  # fmt: skip
        session.commit()
    response = await http.post(f"/campaigns/{ids['campaign']}/versions/2/migrate")
    assert response.status_code == 200, response.text
    [result] = response.json()
    assert result["enrollment_id"] == ids["enrollment"] and result["result"] != "migrated"
    assert result["reason"]
