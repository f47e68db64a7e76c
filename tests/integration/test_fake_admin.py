"""Both fakes share one admin layer (devstack.fakes.admin): the same /_fake URLs and JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from devstack.fakes import marketo, salesforce

# (build the app, a fault code it knows, how to log in and make one counted call)
FAKES: dict[str, tuple[Callable[[], FastAPI], str]] = {
    "marketo": (lambda: marketo.create_app("id", "secret"), "606"),
    "salesforce": (lambda: salesforce.create_app("id", "secret"), "SERVER_UNAVAILABLE"),
}


async def one_call(name: str, http: httpx.AsyncClient) -> httpx.Response:
    """Log in as an integrator and make one API call."""
    if name == "marketo":
        params = {"grant_type": "client_credentials", "client_id": "id", "client_secret": "secret"}
        token = (await http.get("/identity/oauth/token", params=params)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        return await http.get("/rest/v1/activities/types.json", headers=auth)
    form = {"grant_type": "client_credentials", "client_id": "id", "client_secret": "secret"}
    token = (await http.post("/services/oauth2/token", data=form)).json()["access_token"]
    return await http.get(
        "/services/data/v62.0/limits", headers={"Authorization": f"Bearer {token}"}
    )


@pytest.fixture(params=sorted(FAKES))
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    app = FAKES[request.param][0]()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake.test") as http:
        yield request.param, http


async def test_faults_stats_reset_and_revoke_are_the_same_for_both_fakes(
    fake: tuple[str, httpx.AsyncClient],
) -> None:
    name, http = fake
    code = FAKES[name][1]
    added = await http.post("/_fake/faults", json={"code": code, "path_contains": "/"})
    assert added.status_code == 200
    assert added.json() == {
        "fault": {"code": code, "count": 1, "rate": None, "path_contains": "/", "delay_s": 0.0,
                  "drop_after_commit": False},
        "faults": 1,
    }  # fmt: skip
    assert [f["code"] for f in (await http.get("/_fake/faults")).json()] == [code]
    failed = await one_call(name, http)
    assert code in failed.text  # the vendor's own error, as the vendor writes it
    assert (await http.get("/_fake/faults")).json() == []  # a counted fault is used up

    stats = (await http.get("/_fake/stats")).json()
    assert set(stats) == {"requests", "calls", "token_requests", "by_path", "errors", "usage",
                          "holds", "faults"}  # fmt: skip
    assert stats["token_requests"] == 1 and stats["requests"] == 1
    assert stats["errors"] == {code: 1}

    revoked = (await http.post("/_fake/revoke-token")).json()["revoked"]
    assert isinstance(revoked, list) and len(revoked) == 1
    await http.post("/_fake/faults", json={"delay_s": 0.01, "rate": 0.5})
    assert (await http.post("/_fake/reset")).json() == {"reset": True}
    after = (await http.get("/_fake/stats")).json()
    assert (after["requests"], after["token_requests"], after["faults"]) == (0, 0, [])
    assert (await one_call(name, http)).status_code == 200


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"code": "NOPE"}, "code: unsupported fault code"),
        ({"code": None, "count": 1}, "a fault needs a code"),
        ({"delay_s": 1, "rate": 2}, "rate:"),
        ({"delay_s": 1, "rate": 0.5, "count": 2}, "count or rate"),
        ({"delay_s": 1, "kind": "slow"}, "kind:"),
        (["not", "an", "object"], "a JSON object is required"),
    ],
)
async def test_a_wrong_fault_spec_is_refused_saying_what_is_wrong(
    fake: tuple[str, httpx.AsyncClient], spec: object, where: str
) -> None:
    _, http = fake
    answer = await http.post("/_fake/faults", json=spec)
    assert answer.status_code == 400 and where in answer.json()["error"]
    assert (await http.get("/_fake/faults")).json() == []
