"""The OpenAPI document (/openapi.json): FastAPI's, completed so that it tells the truth.

Every operation lists every error status it can answer, each with its model (api/errors.py):
the standard ones follow from the route itself (``error_statuses``: its access rule, its
parameters and body, whether it calls Temporal), and a route declares the rest it raises
(409, 415) with ``responses=`` (``CONFLICT``, ``UNSUPPORTED_TYPE``). Links between
operations (a campaign just published, then read, versioned, enrolled into...) let clients and
schemathesis's stateful tests follow them. tests/test_openapi_conformance.py checks the running
API against this document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api.deps import ROLES, Access, api_routes, get_temporal, rule_of
from api.errors import Error, ValidationErrorResponse
from cadence.core.models import Role
from cadence.domain.playbook import Playbook

SIGNED_IN = frozenset(a for a in Access if a not in (Access.public, Access.intake))

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Conflict: the request does not fit the thing's state now (says why)"}
}
UNSUPPORTED_TYPE: dict[int | str, dict[str, Any]] = {
    415: {"description": "The body's Content-Type is not one this route reads"}
}

_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (Error, "serialization"),
    (ValidationErrorResponse, "serialization"),
    (Playbook, "validation"),  # POST /campaigns takes it as JSON (its body is documented by hand)
]
_REF = "#/components/schemas/{model}"

Link = tuple[str, str, dict[str, str]]  # (method, path, parameters from the response)
_CAMPAIGN = {"campaign_id": "$response.body#/id"}
_FIRST_ENROLLED = {"enrollment_id": "$response.body#/results/0/enrollment_id"}
_ENROLLMENT_ACTIONS = [("get", ""), ("get", "/timeline"), ("post", "/pause"), ("post", "/resume"),
                       ("post", "/skip-step"), ("post", "/reschedule"), ("post", "/mark-success"),
                       ("post", "/remove")]  # fmt: skip


def _camel(action: str) -> str:
    return "".join(w.capitalize() for w in action.strip("/").split("-")) or "Get"


LINKS: dict[tuple[str, str, str], dict[str, Link]] = {
    ("post", "/campaigns", "201"): {
        "GetCampaign": ("get", "/campaigns/{campaign_id}", _CAMPAIGN),
        "PublishVersion": ("post", "/campaigns/{campaign_id}/versions", _CAMPAIGN),
        "Enroll": ("post", "/campaigns/{campaign_id}/enrollments", _CAMPAIGN),
        "ListEnrollments": ("get", "/campaigns/{campaign_id}/enrollments", _CAMPAIGN),
        "Preview": ("post", "/campaigns/{campaign_id}/preview", _CAMPAIGN),
    },
    ("post", "/attachments", "201"): {
        "GetAttachment": (
            "get", "/attachments/{attachment_id}", {"attachment_id": "$response.body#/id"}
        ),
    },
    ("post", "/admin/blocked-domains", "201"): {
        "Unblock": (
            "delete", "/admin/blocked-domains/{domain}", {"domain": "$response.body#/domain"}
        ),
    },
    ("post", "/emails", "202"): {
        "GetRequest": (
            "get", "/emails/requests/{request_id}", {"request_id": "$response.body#/request_id"}
        ),
    },
    ("post", "/campaigns/{campaign_id}/enrollments", "202"): {
        "GetEnrollment": ("get", "/enrollments/{enrollment_id}", _FIRST_ENROLLED),
    },
    ("get", "/campaigns/{campaign_id}/enrollments", "200"): {
        f"{_camel(action)}Enrollment": (verb, f"/enrollments/{{enrollment_id}}{action}",
                                        {"enrollment_id": "$response.body#/0/id"})
        for verb, action in _ENROLLMENT_ACTIONS
    },
    ("get", "/enrollments/{enrollment_id}", "200"): {
        f"{_camel(action)}Enrollment": (verb, f"/enrollments/{{enrollment_id}}{action}",
                                        {"enrollment_id": "$response.body#/id"})
        for verb, action in _ENROLLMENT_ACTIONS if action
    },
    ("get", "/tasks", "200"): {
        f"{_camel(action)}Task": ("post", f"/tasks/{{task_id}}/{action}",
                                  {"task_id": "$response.body#/0/id"})
        for action in ("complete", "skip", "send")
    },
    ("get", "/people", "200"): {
        "GetPerson": ("get", "/people/{person_id}", {"person_id": "$response.body#/0/id"}),
    },
    ("get", "/emails", "200"): {
        "GetEmail": ("get", "/emails/{message_id}", {"message_id": "$response.body#/0/message_id"}),
    },
    ("get", "/inbound", "200"): {
        "GetInbound": (
            "get", "/inbound/{inbound_id}", {"inbound_id": "$response.body#/items/0/id"}
        ),
    },
    ("post", "/inbound/email", "202"): {
        "GetInbound": ("get", "/inbound/{inbound_id}", {"inbound_id": "$response.body#/id"}),
        "GetRaw": ("get", "/inbound/{inbound_id}/raw", {"inbound_id": "$response.body#/id"}),
    },
}  # fmt: skip
"""(method, path, status) -> the operations its answer leads to."""


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def error_statuses(operation: dict[str, Any], dependant: Dependant) -> dict[int, str]:
    """The errors a route can answer whatever it does: from its access rule (401, 403), its
    path (404: an id or a name that is not there, or not yours), its parameters and body
    (413, 422) and its calls to Temporal (503)."""
    codes: dict[int, str] = {}
    rule = rule_of(dependant)
    if rule in SIGNED_IN:
        codes[401] = "No valid API token: send `Authorization: Bearer <token>`"
        allowed = ROLES[rule]
        if allowed != frozenset(Role):
            roles = ", ".join(r.value for r in Role if r in allowed)
            codes[403] = f"Your role may not do this (it takes: {roles})"
    elif rule is Access.intake:
        codes[401] = "No valid inbound token: send `Authorization: Bearer <CADENCE_INBOUND_TOKEN>`"
        codes[503] = "Inbound mail is off (CADENCE_INBOUND_TOKEN is not set), or Temporal is down"
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters):
        codes[404] = "Not found: nothing has this id (or, for a rep, it is not theirs)"
    if "requestBody" in operation:
        codes[413] = "The request body is larger than this route takes (says the limit)"
    if parameters or "requestBody" in operation:
        codes[422] = "The request does not make sense: each problem with its place"
    if get_temporal in set(_calls(dependant)):
        codes[503] = "Temporal (or the workflow) could not answer now: try again"
    return codes


def _pointer(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _component_schemas() -> dict[str, Any]:
    _, top = models_json_schema(_MODELS, ref_template=_REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    return schemas


def complete(app: FastAPI, doc: dict[str, Any]) -> dict[str, Any]:
    """Add to FastAPI's document the error answers, their models and the links."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in _component_schemas().items():
        schemas.setdefault(name, schema)
    error = {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}
    invalid = {
        "application/json": {"schema": {"$ref": _REF.format(model="ValidationErrorResponse")}}
    }
    for method, path, dependant in api_routes(app):
        operation = doc["paths"].get(path, {}).get(method.lower())
        if operation is None:  # not in the document (include_in_schema=False)
            continue
        responses = operation.setdefault("responses", {})
        for status, text in error_statuses(operation, dependant).items():
            responses.setdefault(str(status), {"description": text})
        for code, response in responses.items():
            if code[0] in "45":
                response["content"] = invalid if code == "422" else error
        for (m, p, code), links in LINKS.items():
            if (m, p) == (method.lower(), path) and code in responses:
                responses[code]["links"] = {
                    name: {"operationRef": _pointer(target, verb), "parameters": params}
                    for name, (verb, target, params) in links.items()
                }
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422, replaced
        schemas.pop(unused, None)
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(app, FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
