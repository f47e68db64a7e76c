"""Settings that are safe in production: no default points at the local fakes, the sink or a
file in the source tree; an integration left unset is off (and says so); one set by halves
stops the process at start with the names of the missing settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cadence.core.config import ROOT, ConfigError, Mailbox, Settings, get_settings
from devstack.stack import StackConfig
from tests.utils.api import Api

CADENCE = Path(sys.executable).parent / "cadence"
LOCAL_STACK = ("127.0.0.1:8101", "127.0.0.1:8102", "127.0.0.1:2525", ":2525", "127.0.0.1:8000")
runner = CliRunner()


def test_production_defaults_never_point_at_the_local_stack_or_the_source_tree() -> None:
    settings = Settings(_env_file=None)
    values = " ".join(str(v) for v in settings.model_dump().values())
    assert not [address for address in LOCAL_STACK if address in values]
    assert settings.marketo_base_url is None and settings.salesforce_base_url is None
    assert settings.smtp_host is None and Mailbox().host is None
    assert settings.public_base_url is None  # links to a local address would reach nobody
    assert settings.integrations() == {
        "marketo": False, "salesforce": False, "smtp": False, "tracking": False,
    }  # fmt: skip
    url = settings.database_url
    assert url is None or str(ROOT) not in url
    with pytest.raises(ConfigError, match="CADENCE_DATABASE_URL"):
        settings.require_database_url()


def test_only_the_local_stack_sets_the_fakes_addresses() -> None:
    env = StackConfig.load(ROOT / "temporal-dev.yaml").app_env()
    local = Settings(_env_file=None, **{k[len("CADENCE_") :].lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    assert local.marketo_base_url == "http://127.0.0.1:8101"
    assert local.salesforce_base_url == "http://127.0.0.1:8102"
    assert (local.smtp_host, local.smtp_port) == ("127.0.0.1", 2525)
    assert local.public_base_url == "http://127.0.0.1:8000"
    # (tracking: `make run` adds a secret of its own, kept in .data/)
    assert local.integrations() == {
        "marketo": True, "salesforce": True, "smtp": True, "tracking": False,
    }  # fmt: skip
    assert local.database_url == f"sqlite:///{ROOT / '.data' / 'cadence.db'}"


HALVES = [
    ({"MARKETO_CLIENT_ID": "id"}, ["CADENCE_MARKETO_CLIENT_SECRET", "CADENCE_MARKETO_BASE_URL"]),
    ({"MARKETO_BASE_URL": "https://1-ab.mktorest.com", "MARKETO_CLIENT_SECRET": "s"},
     ["CADENCE_MARKETO_CLIENT_ID"]),
    ({"SALESFORCE_CLIENT_SECRET": "s", "SALESFORCE_CLIENT_ID": "id"},
     ["CADENCE_SALESFORCE_BASE_URL"]),
    ({"SMTP_HOST": "smtp.example.com", "SMTP_USERNAME": "rita"}, ["CADENCE_SMTP_PASSWORD"]),
    ({"SMTP_PORT": "587"}, ["CADENCE_SMTP_HOST"]),
    ({"MAILBOXES": '{"rita@example.com": {"host": "smtp.example.com", "password": "p"}}'},
     ['CADENCE_MAILBOXES["rita@example.com"].username']),
    ({"MAILBOXES": '{"rita@example.com": {"port": 465, "tls": true}}'},
     ['CADENCE_MAILBOXES["rita@example.com"].host']),
    ({"TRACKING_SECRET": "s3cret"}, ["CADENCE_PUBLIC_BASE_URL"]),
]  # fmt: skip


@pytest.mark.parametrize(("env", "missing"), HALVES)
def test_a_half_configured_integration_names_what_is_missing(
    env: dict[str, str], missing: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(f"CADENCE_{key}", value)
    get_settings.cache_clear()
    with pytest.raises(ConfigError) as err:
        get_settings()
    for name in missing:
        assert name in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("command", [["worker"], ["api"], ["db", "upgrade"]])
def test_the_worker_the_api_and_the_cli_refuse_to_start_half_configured(
    command: list[str], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    env |= {
        "CADENCE_DATABASE_URL": f"sqlite:///{tmp_path / 'cadence.db'}",
        "CADENCE_SALESFORCE_CLIENT_ID": "connected-app",
        "CADENCE_SALESFORCE_CLIENT_SECRET": "s3cret",
        "CADENCE_API_PORT": "1",  # never reached: nothing may start
    }
    done = subprocess.run(
        [str(CADENCE), *command], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "CADENCE_SALESFORCE_BASE_URL" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_commands_that_need_the_database_say_how_to_name_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    done = subprocess.run(
        [str(CADENCE), "users", "create", "--name", "A", "--email", "a@example.com", "--role",
         "admin"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "CADENCE_DATABASE_URL" in done.stderr and ".data/cadence.env" in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


async def test_health_says_which_integrations_are_on(api: Api) -> None:
    health = (await api.http.get("/health")).json()
    # the api fixture has the sink as its SMTP server and neither Marketo nor Salesforce
    assert health["integrations"] == {
        "marketo": "off", "salesforce": "off", "smtp": "on", "tracking": "off",
    }  # fmt: skip
    assert "secret" not in str(health).lower()


def test_the_worker_says_at_start_which_integrations_are_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from worker import log_integrations

    settings = Settings(
        _env_file=None,
        smtp_host="smtp.example.com",
        marketo_base_url="https://1-ab.mktorest.com",
        marketo_client_id="id",
        marketo_client_secret="s3cret",
    )
    with caplog.at_level("INFO", logger="cadence.worker"):
        log_integrations(settings)
    text = caplog.text
    assert "marketo: on" in text and "smtp: on" in text
    assert "salesforce: off" in text and "CADENCE_SALESFORCE_BASE_URL" in text
    assert "s3cret" not in text
