"""Schemathesis hooks for tests/test_openapi_conformance.py (SCHEMATHESIS_HOOKS names this
module). Raw RFC 822 bodies are sent as bytes. In an authenticated run (ST_TOKEN set: a user's
API token), every request carries that token, but the routes of the inbound-mail intake,
which take a secret of their own, carry CADENCE_INBOUND_TOKEN instead."""

from __future__ import annotations

import os
from typing import Any

import schemathesis

from api.deps import Access, api_routes, rule_of
from api.main import create_app

schemathesis.serializer.alias("message/rfc822", "application/octet-stream")

INTAKE = {(method, path) for method, path, dep in api_routes(create_app())
          if rule_of(dep) is Access.intake}  # fmt: skip


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    token = os.environ.get("ST_TOKEN")
    if not token:
        return
    if (case.method.upper(), case.operation.path) in INTAKE:
        token = os.environ["CADENCE_INBOUND_TOKEN"]
    case.headers["Authorization"] = f"Bearer {token}"
