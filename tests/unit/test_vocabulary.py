"""One status vocabulary for the database, the API and the workflows: the tables store the
enums the workflow contracts define, and each narrower status is made of their members."""

from __future__ import annotations

from typing import get_args

from cadence.core import models
from cadence.domain import contracts


def _column_enum(table: type[models.SQLModel], column: str) -> object:
    return table.__table__.c[column].type.enum  # type: ignore[attr-defined]


def test_the_tables_store_the_statuses_the_workflows_use() -> None:
    assert _column_enum(models.Enrollment, "status") is contracts.EnrollmentStatus
    assert _column_enum(models.Task, "status") is contracts.TaskStatus
    assert set(contracts.RUNNING_STATUSES) == {"active", "paused"}


def test_how_a_task_ends_is_a_task_status() -> None:
    for narrower in (contracts.TaskOutcome, contracts.TaskEnd):
        assert all(isinstance(v, contracts.TaskStatus) for v in get_args(narrower))
    for model in (contracts.TaskDone, contracts.CloseTaskInput):
        assert model.model_fields["status"].annotation in (contracts.TaskOutcome, contracts.TaskEnd)
