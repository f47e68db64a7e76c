"""The OpenAPI document without a running stack: every reference in it resolves, every error
an operation lists has the one error model, and a few answers the schemathesis run
(tests/test_openapi_conformance.py) found wrong: a method a path does not take is a 405, a body
that is not UTF-8 is a 422."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from api.main import create_app
from tests.utils.api import Api

DOC = create_app().openapi()


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "operationRef") and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(pointer: str) -> Any:
    node: Any = DOC
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_reference_in_the_document_resolves() -> None:
    unresolved = []
    for ref in set(_refs(DOC)):
        try:
            _resolve(ref)
        except KeyError:
            unresolved.append(ref)
    assert unresolved == []


def test_every_error_an_operation_lists_has_the_error_model() -> None:
    wrong = []
    for path, operations in DOC["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code[0] not in "45":
                    continue
                model = "ValidationErrorResponse" if code == "422" else "Error"
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema != {"$ref": f"#/components/schemas/{model}"}:
                    wrong.append(f"{method.upper()} {path} {code}: {schema}")
    assert wrong == []


def _codes(method: str, path: str) -> set[str]:
    return set(DOC["paths"][path][method]["responses"])


def test_errors_follow_from_each_routes_rule_parameters_and_calls() -> None:
    assert _codes("get", "/health") == {"200"}  # public, no parameters
    assert {"401", "404", "422"} <= _codes("get", "/people/{person_id}")
    assert "403" not in _codes("get", "/people/{person_id}")  # every role may read people
    assert {"401", "403", "404", "409", "413", "422", "503"} <= _codes(
        "post", "/enrollments/{enrollment_id}/pause"
    )
    assert {"401", "403", "413", "415", "422"} <= _codes("post", "/campaigns")
    assert {"401", "413", "422", "503"} <= _codes("post", "/inbound/email")


@pytest.fixture
async def http(database: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


@pytest.mark.parametrize("path", ["/people/sync", "/inbound/email"])
async def test_a_method_a_path_does_not_take_is_a_405(http: httpx.AsyncClient, path: str) -> None:
    """GET /people/sync is not GET /people/{person_id} with the id "sync"."""
    got = await http.get(path)
    assert got.status_code == 405 and got.headers["allow"] == "POST"
    assert got.json() == {"detail": "Method Not Allowed"}


async def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(api: Api) -> None:
    got = await api.call(
        "PATCH", "/users/me", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert got.status_code == 422, got.text
    assert [(e["loc"], e["type"]) for e in got.json()["detail"]] == [(["body"], "json_invalid")]


async def test_an_error_given_as_a_list_without_types_gets_them(api: Api) -> None:
    """Hand-made 422s (here: a recipient who is nobody) have the documented item shape."""
    got = await api.call(
        "POST", "/emails", json={"emails": ["nobody@example.org"], "subject": "Hi", "body": "Yo"}
    )
    assert got.status_code == 422, got.text
    (item,) = got.json()["detail"]
    assert item == {"loc": ["body", "emails", 0], "msg": "no such person", "type": "value_error"}
