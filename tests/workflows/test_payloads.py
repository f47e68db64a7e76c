"""The models on shared bases write the JSON the recorded histories hold: each recorded
workflow input and activity input decodes, and encodes again to the same values (keys the
current code added aside: at the top, they hold their defaults)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.contrib.pydantic import pydantic_data_converter

from cadence.core.models import Person
from cadence.domain.contracts import (
    EnrollmentInput,
    LocationInUse,
    PeopleSyncInput,
    PersonName,
    SendEmailInput,
)

HISTORIES = Path(__file__).parent / "histories"
WORKFLOW_INPUTS: dict[str, type[BaseModel]] = {
    "EnrollmentWorkflow": EnrollmentInput,
    "PeopleSyncWorkflow": PeopleSyncInput,
}
ACTIVITY_INPUTS: dict[str, type[BaseModel]] = {"send_email": SendEmailInput}


def _recorded(path: Path) -> list[tuple[type[BaseModel], dict[str, Any]]]:
    found = []
    for event in json.loads(path.read_text())["events"]:
        started = event.get("workflowExecutionStartedEventAttributes")
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if started and started["workflowType"]["name"] in WORKFLOW_INPUTS:
            model, payloads = WORKFLOW_INPUTS[started["workflowType"]["name"]], started["input"]
        elif scheduled and scheduled["activityType"]["name"] in ACTIVITY_INPUTS:
            model, payloads = ACTIVITY_INPUTS[scheduled["activityType"]["name"]], scheduled["input"]
        else:
            continue
        data = base64.b64decode(payloads["payloads"][0]["data"])
        found.append((model, json.loads(data)))
    return found


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
def test_recorded_payloads_encode_again_to_the_same_json(path: Path) -> None:
    converter = pydantic_data_converter.payload_converter
    for model, recorded in _recorded(path):
        [payload] = converter.to_payloads([model.model_validate(recorded)])
        again = json.loads(payload.data)
        added = {k: v for k, v in again.items() if k not in recorded}
        assert all(v == model.model_fields[k].get_default(call_default_factory=True)
                   for k, v in added.items()), added  # fmt: skip
        assert _as_recorded(again, recorded) == recorded


def _as_recorded(value: Any, recorded: Any) -> Any:
    """``value`` with only the keys ``recorded`` has, at every level (the current code adds
    fields that older records do not have)."""
    if isinstance(value, dict) and isinstance(recorded, dict):
        return {k: _as_recorded(v, recorded[k]) for k, v in value.items() if k in recorded}
    if isinstance(value, list) and isinstance(recorded, list) and len(value) == len(recorded):
        return [_as_recorded(v, r) for v, r in zip(value, recorded, strict=True)]
    return value


def test_the_person_table_keeps_the_shared_person_fields() -> None:
    """The table (SQLModel) cannot inherit a pydantic base: it declares the same fields."""
    for base in (PersonName, LocationInUse):
        for name, field in base.model_fields.items():
            assert Person.model_fields[name].annotation == field.annotation, name
