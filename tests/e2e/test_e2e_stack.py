"""End to end with the real processes: `make run` starts the Temporal dev server, the fakes,
the SMTP sink, the worker and the API; a lead created in Marketo is synced, enrolled, emailed
(the sink has it) and logged (the fake Marketo and the fake Salesforce have the records). The
lead answers through the sink's SMTP port: the sink hands the reply to the inbound intake, the
enrollment ends as replied before its second step, and the reply is logged to both. A second
start keeps everything and Ctrl-C stops every process."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
from collections.abc import Iterator
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.utils.live_stack import CADENCE, Stack, eventually, write_config

pytestmark = pytest.mark.e2e
PLAYBOOK = """\
name: E2E
settings: {skip_weekends: false, holidays: "off", send_window: {start: "00:00", end: "23:59"}}
steps:
  - {id: intro, day: 1, type: auto_email, send_at: immediately,
     subject: "Hello {{first_name}}", body: "Hi {{first_name}}, one question about {{company}}."}
  - {id: bump, day: 30, type: auto_email, subject: "Following up",
     body: "Hi {{first_name}}, any thoughts?"}
"""


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(write_config(tmp_path, SHIPPER_POLL_SECONDS="0.5"))
    yield running
    running.kill()


def marketo_token(stack: Stack) -> str:
    resp = httpx.get(
        f"{stack.marketo}/identity/oauth/token",
        params={
            "grant_type": "client_credentials",
            "client_id": "local-marketo-client",
            "client_secret": "local-marketo-secret",
        },
    )
    return str(resp.json()["access_token"])


def test_enrollment_to_inbox_to_marketo_and_salesforce(stack: Stack) -> None:
    token = stack.start()
    api = httpx.Client(base_url=stack.api, headers={"Authorization": f"Bearer {token}"})

    lead = {
        "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace",
        "company": "Analytical Engines", "sfdcLeadOwnerId": "005000000000001AAA",
        "sfdcLeadId": "00Q000000000042AAA",
    }  # fmt: skip
    created = httpx.post(
        f"{stack.marketo}/rest/v1/leads.json",
        headers={"Authorization": f"Bearer {marketo_token(stack)}"},
        json={"action": "createOrUpdate", "lookupField": "email", "input": [lead]},
    )
    assert created.json()["success"], created.text
    assert api.post("/people/sync").status_code == 202
    people = eventually(lambda: api.get("/people", params={"email": "ada@example.com"}).json())
    person_id = people[0]["id"]

    campaign = api.post(
        "/campaigns", content=PLAYBOOK, headers={"Content-Type": "application/yaml"}
    ).json()
    enroll = api.post(f"/campaigns/{campaign['id']}/enrollments", json={"person_ids": [person_id]})
    assert enroll.status_code == 202
    result = enroll.json()["results"][0]
    assert result["workflow_id"] == f"enrollment/{campaign['id']}/{person_id}"
    again = api.post(f"/campaigns/{campaign['id']}/enrollments", json={"person_ids": [person_id]})
    assert again.json()["results"][0]["result"] == "already_enrolled"

    def inbox() -> list[dict[str, Any]]:
        found = httpx.get(f"{stack.sink}/api/messages", params={"to": "ada@example.com"}).json()
        return list(found["messages"])

    mail = eventually(inbox)
    assert [m["subject"] for m in mail] == ["Hello Ada"]
    assert "one question about Analytical Engines" in mail[0]["text"]

    def marketo_email() -> list[dict[str, Any]]:
        acts = httpx.get(f"{stack.marketo}/_fake/activities").json()
        return [a for a in acts if a["apiName"] == "cadenceSendSalesEmail"]

    logged = eventually(marketo_email)
    assert logged[0]["primaryAttributeValue"].startswith("Hello Ada (CAD-")
    assert logged[0]["attributes"]["messageId"] == mail[0]["message_id"]

    tasks = eventually(lambda: httpx.get(f"{stack.salesforce}/_fake/records/Task").json())
    emails = [t for t in tasks if t["Subject"] == "[Cadence] - Email: Hello Ada"]
    assert len(emails) == 1 and emails[0]["WhoId"] == "00Q000000000042AAA"

    # Ada answers from her phone, to the rep's address, through the local SMTP server.
    sink_smtp = int(yaml.safe_load(stack.config.read_text())["smtp_sink"]["smtp_port"])
    answer = (
        f"From: Ada Lovelace <ada@example.com>\r\nTo: {mail[0]['from']}\r\n"
        f"Subject: Re: Hello Ada\r\nIn-Reply-To: {mail[0]['message_id']}\r\n"
        f"References: {mail[0]['message_id']}\r\nMessage-ID: <answer-1@example.com>\r\n"
        "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\n"
        "Happy to talk. Does Tuesday at 3pm work?\r\n\r\nSent from my iPhone\r\n"
    )
    with smtplib.SMTP("127.0.0.1", sink_smtp, timeout=10) as smtp:
        smtp.sendmail("ada@example.com", [parseaddr(mail[0]["from"])[1]], answer.encode())

    def ended() -> dict[str, Any] | None:
        row = api.get(f"/enrollments/{result['enrollment_id']}").json()
        return row if row["status"] != "active" else None

    row = eventually(ended)
    assert row["end_reason"] == "replied"
    assert [s["step_id"] for s in row["live"]["steps"]] == ["intro"]  # no follow-up went
    received = api.get("/inbound").json()["items"]
    assert [(i["label"], i["matched_by"], i["person_id"]) for i in received] == [
        ("human_reply", "thread", person_id)
    ]

    def marketo_reply() -> list[dict[str, Any]]:
        acts = httpx.get(f"{stack.marketo}/_fake/activities").json()
        return [a for a in acts if a["apiName"] == "cadenceReplySalesEmail"]

    assert len(eventually(marketo_reply)) == 1

    def salesforce_reply() -> list[dict[str, Any]]:
        tasks = httpx.get(f"{stack.salesforce}/_fake/records/Task").json()
        return [t for t in tasks if t["Subject"] == "Reply: Re: Hello Ada"]

    assert len(eventually(salesforce_reply)) == 1
    assert stack.stop() == 0
    assert any("Stopped." in line for line in stack.output)

    # A second start keeps the campaign, the enrollment and the token.
    assert stack.start() == token
    api = httpx.Client(base_url=stack.api, headers={"Authorization": f"Bearer {token}"})
    assert [c["name"] for c in api.get("/campaigns").json()] == ["E2E"]
    kept = api.get(f"/enrollments/{result['enrollment_id']}").json()
    assert kept["end_reason"] == "replied" and kept["live"]["steps"][0]["status"] == "sent"
    assert len(inbox()) == 1

    # Commands run by hand use the stack's settings from the file it wrote (nothing defaults
    # to the local stack): a user made that way can call the running API.
    env_file = stack.config.parent / ".data" / "cadence.env"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    made = subprocess.run(
        ["sh", "-c", f'. "{env_file}" && "{CADENCE}" users create --name Rita '
         "--email rita@example.com --role rep"],
        env=clean, capture_output=True, text=True, timeout=60, cwd=stack.config.parent,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    rita = json.loads(made.stdout)["token"]
    me = httpx.get(f"{stack.api}/users/me", headers={"Authorization": f"Bearer {rita}"})
    assert me.json()["email"] == "rita@example.com"
    assert stack.stop() == 0
