"""Our search attributes: one list (cadence/domain/contracts.py) that the local stack registers,
names clear of Temporal's own, and every filter docs/operations.md documents works in Temporal's
visibility and finds the enrollments it says."""

from __future__ import annotations

import asyncio
import functools
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from cadence.core.config import get_settings
from cadence.core.db import get_engine
from cadence.core.models import Person
from cadence.core.temporal import register_search_attributes
from cadence.domain.contracts import SEARCH_ATTRIBUTE_KEYS, SEARCH_ATTRIBUTES
from devstack.runner import register_attributes
from devstack.stack import StackConfig
from tests.utils.api import Api, unique_person_id
from tests.utils.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]

# Temporal's system and predefined search attributes (temporal server, sadefs/constants.go),
# and the columns of its SQL visibility table, which a custom attribute must not shadow.
TEMPORAL_NAMES = {
    "NamespaceId", "WorkflowId", "RunId", "WorkflowType", "StartTime", "ExecutionTime",
    "CloseTime", "ExecutionStatus", "TaskQueue", "HistoryLength", "ExecutionDuration",
    "StateTransitionCount", "BinaryChecksums", "BatcherNamespace", "BatcherUser",
    "HistorySizeBytes", "ParentWorkflowId", "ParentRunId", "RootWorkflowId", "RootRunId",
    "MemoEncoding", "Memo", "VisibilityTaskKey", "ScheduleId", "ActivityId", "BuildIds",
}  # fmt: skip
SQL_COLUMNS = {
    "namespace_id", "run_id", "start_time", "execution_time", "workflow_id",
    "workflow_type_name", "status", "close_time", "history_length", "history_size_bytes",
    "execution_duration", "state_transition_count", "memo", "encoding", "task_queue",
    "search_attributes", "parent_workflow_id", "parent_run_id", "root_workflow_id",
    "root_run_id",
}  # fmt: skip


def test_no_attribute_name_collides_with_temporals_own() -> None:
    for name in SEARCH_ATTRIBUTES:
        assert name not in TEMPORAL_NAMES, name
        assert name.lower() not in SQL_COLUMNS, name
        assert not name.startswith("Temporal"), name


def test_the_local_stack_registers_exactly_the_attributes_the_workflows_set() -> None:
    stack = StackConfig.load(ROOT / "temporal-dev.yaml")
    command = stack.temporal_command()
    registered = {
        command[i + 1].split("=")[0]: command[i + 1].split("=")[1]
        for i, arg in enumerate(command)
        if arg == "--search-attribute"
    }
    assert registered == SEARCH_ATTRIBUTES
    assert [k.name for k in SEARCH_ATTRIBUTE_KEYS] == list(SEARCH_ATTRIBUTES)
    # temporal-dev.yaml adds its own, never ours again (a second definition to drift)
    assert not set(stack.temporal.search_attributes) & set(SEARCH_ATTRIBUTES)


FILTER = re.compile(r"`([A-Z][A-Za-z]+ !?= [^`]+)`")
CLAUSE = re.compile(r'^([A-Z][A-Za-z]+) (!?=) (?:"([^"]*)"|(\d+))$')


def readme_filters() -> list[str]:
    return list(
        dict.fromkeys(FILTER.findall((ROOT / "docs" / "operations.md").read_text(encoding="utf-8")))
    )


def matches(query: str, attributes: dict[str, Any]) -> bool:
    """Evaluate a documented filter (clauses joined by AND) against what we know of a workflow."""
    result = True
    for clause in query.split(" AND "):
        found = CLAUSE.match(clause.strip())
        assert found, (
            f"the documented filter {query!r} has a clause this test cannot read: {clause}"
        )
        name, op, text, number = found.groups()
        assert name in attributes, f"the documented filter {query!r} uses {name}, unknown here"
        value = text if text is not None else int(number)
        equal = attributes[name] == value
        result = result and (equal if op == "=" else not equal)
    return result


PLAYBOOK = """\
name: Filters
settings: {skip_weekends: false, holidays: "off", send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately, subject: Hi, body: Hello}
  - {id: bump, day: 3, type: auto_email, thread: true, body: Bump}
"""


async def test_every_filter_in_the_readme_finds_the_right_enrollments(api: Api) -> None:
    filters = readme_filters()
    assert len(filters) >= 3, filters
    created = await api.call("POST", "/campaigns", role="author", content=PLAYBOOK,
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    campaign_id = created.json()["id"]
    assert campaign_id == 1  # the documented examples are about campaign 1
    people: dict[str, int] = {}
    with Session(get_engine()) as session:
        for scenario in ("waiting", "paused", "removed", "terminated"):
            person = Person(id=unique_person_id(), email=f"{scenario}-{uuid.uuid4().hex}@ex.com")
            session.add(person)
            people[scenario] = int(person.id or 0)
        session.commit()
    url = f"/campaigns/{campaign_id}/enrollments"
    enrolled = await api.call("POST", url, role="rep", json={"person_ids": list(people.values())})
    by_person = {r["person_id"]: r for r in enrolled.json()["results"]}
    ids = {scenario: by_person[pid]["enrollment_id"] for scenario, pid in people.items()}

    async def waiting_for_bump(enrollment_id: int) -> bool:
        live = (await api.call("GET", f"/enrollments/{enrollment_id}")).json()["live"]
        return bool(live and live["current_step"] == "bump" and live["next_due_at"])

    for enrollment_id in ids.values():
        await eventually(functools.partial(waiting_for_bump, enrollment_id))
    await api.call("POST", f"/enrollments/{ids['paused']}/pause", role="rep")
    await api.call("POST", f"/enrollments/{ids['removed']}/remove", role="rep")
    workflow_of = {s: by_person[pid]["workflow_id"] for s, pid in people.items()}
    await api.temporal.get_workflow_handle(workflow_of["terminated"]).terminate(reason="test")
    await api.temporal.get_workflow_handle(workflow_of["removed"]).result()

    common = {"WorkflowType": "EnrollmentWorkflow", "CampaignId": str(campaign_id),
              "CampaignVersion": 1, "EndReason": None}  # fmt: skip
    known: dict[str, dict[str, Any]] = {
        "waiting": {"EnrollmentStatus": "active", "Step": "bump", "ExecutionStatus": "Running"},
        "paused": {"EnrollmentStatus": "paused", "Step": "bump", "ExecutionStatus": "Running"},
        # An enrollment that ended no longer matches a step.
        "removed": {"EnrollmentStatus": "removed", "Step": None, "EndReason": "removed",
                    "ExecutionStatus": "Completed"},
        # Stopped from outside: the workflow could set nothing; Temporal's own state tells.
        "terminated": {"EnrollmentStatus": "active", "Step": "bump",
                       "ExecutionStatus": "Terminated"},
    }  # fmt: skip
    attributes = {workflow_of[s]: {**common, **known[s], "PersonId": str(people[s])} for s in known}
    ours = ", ".join(f'"{pid}"' for pid in people.values())
    # Beyond the documented ones: an enrollment that ended (here: removed) matches no step.
    for query in [*filters, 'Step = "bump"']:
        restricted = f"({query}) AND PersonId IN ({ours})"
        counted = await api.temporal.count_workflows(restricted)  # Temporal accepts it
        expected = sorted(w for w, attrs in attributes.items() if matches(query, attrs))
        assert expected, f"the documented filter {query!r} matches none of this test's enrollments"
        found: list[str] = []
        for _ in range(100):  # visibility is eventually consistent
            found = sorted([w.id async for w in api.temporal.list_workflows(restricted)])
            counted = await api.temporal.count_workflows(restricted)
            if found == expected and counted.count == len(expected):
                break
            await asyncio.sleep(0.1)
        assert found == expected, query
        assert counted.count == len(expected), query
    await api.call("POST", f"/enrollments/{ids['waiting']}/remove", role="rep")
    await api.call("POST", f"/enrollments/{ids['paused']}/remove", role="rep")


async def test_the_local_stack_adds_attributes_its_server_database_lacks(
    dev_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`temporal server start-dev --search-attribute` registers nothing on a database kept
    from an earlier run: `make run` adds what an upgrade brought (e.g. EnrollmentStatus
    beside the old Status), and nothing twice."""
    monkeypatch.setenv("CADENCE_TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    get_settings.cache_clear()
    stack = StackConfig.load(ROOT / "temporal-dev.yaml")
    stack.temporal.search_attributes = {"UpgradeProbe": "Keyword"}
    await register_attributes(stack)
    listed = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=dev_env.client.namespace)
    )
    assert {"UpgradeProbe", *SEARCH_ATTRIBUTES} <= set(listed.custom_attributes)
    assert await register_search_attributes(dev_env.client, {"UpgradeProbe": "Keyword"}) == {}
    get_settings.cache_clear()
