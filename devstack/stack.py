"""temporal-dev.yaml: the description of the local stack, and the commands it implies."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cadence.domain.contracts import SEARCH_ATTRIBUTES


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemporalSection(_Section):
    ip: str = "127.0.0.1"
    port: int = 7233
    ui_port: int = 8233
    namespace: str = "default"
    db_filename: str = ".data/temporal.db"
    sqlite_pragmas: dict[str, str] = Field(default_factory=lambda: {"journal_mode": "wal"})
    log_level: str = "warn"
    # Extra search attributes to register; the enrollments' own (workflows/contracts.py)
    # are always registered, from that one list.
    search_attributes: dict[str, str] = Field(default_factory=dict)
    dynamic_config: dict[str, object] = Field(default_factory=dict)


class ApiSection(_Section):
    port: int = 8000


class SinkSection(_Section):
    smtp_port: int = 2525
    http_port: int = 8025
    maildir: str = ".data/sink"


class FakeSection(_Section):
    port: int
    client_id: str
    client_secret: str
    state_file: str | None = None
    bulk_step_seconds: float | None = None  # Marketo: how often a bulk export moves on


class StackConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    base_dir: Path = Path(".")
    temporal: TemporalSection = Field(default_factory=TemporalSection)
    api: ApiSection = Field(default_factory=ApiSection)
    database_url: str = "sqlite:///.data/cadence.db"
    smtp_sink: SinkSection = Field(default_factory=SinkSection)
    marketo: FakeSection
    salesforce: FakeSection
    settings: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ports_are_distinct(self) -> StackConfig:
        seen: dict[int, str] = {}
        for name, port in self.ports().items():
            if port in seen:
                raise ValueError(f"{name} and {seen[port]} are both port {port}")
            seen[port] = name
        return self

    def ports(self) -> dict[str, int]:
        """Every port the stack listens on, by its key in temporal-dev.yaml."""
        return {
            "temporal.port": self.temporal.port,
            "temporal.ui_port": self.temporal.ui_port,
            "api.port": self.api.port,
            "smtp_sink.smtp_port": self.smtp_sink.smtp_port,
            "smtp_sink.http_port": self.smtp_sink.http_port,
            "marketo.port": self.marketo.port,
            "salesforce.port": self.salesforce.port,
        }

    @classmethod
    def load(cls, path: Path) -> StackConfig:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls.model_validate({**data, "base_dir": path.resolve().parent})

    def path(self, relative: str) -> Path:
        return (self.base_dir / relative).resolve()

    @property
    def data_dir(self) -> Path:
        return self.path(".data")

    def resolved_database_url(self) -> str:
        prefix = "sqlite:///"
        url = self.database_url
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            return prefix + str(self.path(url[len(prefix) :]))
        return url

    def temporal_command(self) -> list[str]:
        t = self.temporal
        cmd = [
            str(Path(sys.executable).parent / "temporal"),
            "server",
            "start-dev",
            "--ip", t.ip,
            "--port", str(t.port),
            "--ui-port", str(t.ui_port),
            "--namespace", t.namespace,
            "--db-filename", str(self.path(t.db_filename)),
            "--log-level", t.log_level,
            "--ui-disable-news-fetch",
        ]  # fmt: skip
        for key, value in t.sqlite_pragmas.items():
            cmd += ["--sqlite-pragma", f"{key}={value}"]
        for key, kind in {**SEARCH_ATTRIBUTES, **t.search_attributes}.items():
            cmd += ["--search-attribute", f"{key}={kind}"]
        for key, dyn in t.dynamic_config.items():
            cmd += ["--dynamic-config-value", f"{key}={yaml.safe_dump(dyn).strip()}"]
        return cmd

    def app_env(self) -> dict[str, str]:
        """CADENCE_* settings for the worker and the API, pointing at this stack."""
        env = {
            "CADENCE_TEMPORAL_ADDRESS": f"{self.temporal.ip}:{self.temporal.port}",
            "CADENCE_TEMPORAL_NAMESPACE": self.temporal.namespace,
            "CADENCE_DATABASE_URL": self.resolved_database_url(),
            "CADENCE_API_PORT": str(self.api.port),
            "CADENCE_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.api.port}",
            "CADENCE_SMTP_HOST": "127.0.0.1",
            "CADENCE_SMTP_PORT": str(self.smtp_sink.smtp_port),
            # The sink's API stands in for the mailbox's Sent folder: sends stay exactly-once.
            "CADENCE_SENT_CHECK_URL": f"http://127.0.0.1:{self.smtp_sink.http_port}/api/messages",
            # The sink hands replies to our mailboxes to the API's inbound intake.
            "CADENCE_SINK_INBOUND_API": f"http://127.0.0.1:{self.api.port}",
            "CADENCE_MARKETO_BASE_URL": f"http://127.0.0.1:{self.marketo.port}",
            "CADENCE_MARKETO_CLIENT_ID": self.marketo.client_id,
            "CADENCE_MARKETO_CLIENT_SECRET": self.marketo.client_secret,
            "CADENCE_SALESFORCE_BASE_URL": f"http://127.0.0.1:{self.salesforce.port}",
            "CADENCE_SALESFORCE_CLIENT_ID": self.salesforce.client_id,
            "CADENCE_SALESFORCE_CLIENT_SECRET": self.salesforce.client_secret,
        }
        env.update({f"CADENCE_{k.upper()}": str(v) for k, v in self.settings.items()})
        return env
