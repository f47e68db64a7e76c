"""The local stack's command line: `python -m devstack run` (what `make run` runs), and its
parts on their own: the SMTP sink and the fake Marketo and Salesforce. Dev tooling only: the
product never imports this package and its wheel does not contain it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from cadence.core.config import ROOT

app = typer.Typer(help="The local stack: Temporal dev server, worker, API, fakes, SMTP sink.",
                  no_args_is_help=True)  # fmt: skip
fake_app = typer.Typer(help="Local fakes of Marketo and Salesforce.", no_args_is_help=True)
app.add_typer(fake_app, name="fake")

SecretOpt = Annotated[
    str,
    typer.Option("--client-secret", envvar="CADENCE_FAKE_CLIENT_SECRET", help="OAuth secret"),
]


def _logging() -> None:
    from cadence.core.logs import configure_logging

    configure_logging()


@app.command("run")
def run_stack(
    config: Annotated[Path, typer.Option(help="Stack description")] = ROOT / "temporal-dev.yaml",
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for each group")] = 90.0,
) -> None:
    """Start the whole local stack (what `make run` runs)."""
    from devstack import runner

    raise typer.Exit(runner.run(config, ready_timeout))


@app.command()
def sink(
    smtp_port: Annotated[int, typer.Option()] = 2525,
    http_port: Annotated[int, typer.Option()] = 8025,
    maildir: Annotated[Path, typer.Option()] = ROOT / ".data" / "sink",
    inbound_api: Annotated[
        str | None,
        typer.Option(
            envvar="CADENCE_SINK_INBOUND_API",
            help="The API's base URL: mail to our mailboxes goes to its inbound intake",
        ),
    ] = None,
) -> None:
    """Run the local SMTP sink and its web view. The intake's token comes from
    CADENCE_INBOUND_TOKEN."""
    from devstack.sink import serve

    _logging()
    token = os.environ.get("CADENCE_INBOUND_TOKEN")
    asyncio.run(serve(maildir, smtp_port, http_port, inbound_api=inbound_api, inbound_token=token))


def _serve_fake(app_factory_result: object, port: int) -> None:
    import uvicorn

    uvicorn.run(app_factory_result, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]


@fake_app.command("marketo")
def fake_marketo(
    port: Annotated[int, typer.Option()],
    client_id: Annotated[str, typer.Option()],
    client_secret: SecretOpt,
    state_file: Annotated[Path | None, typer.Option(help="Keep state across restarts")] = None,
    bulk_step_seconds: Annotated[
        float, typer.Option(help="How often a bulk export's status moves on (60 in Marketo)")
    ] = 60.0,
    rate_limit: Annotated[int, typer.Option(help="Calls per 20 s window (100 in Marketo)")] = 100,
) -> None:
    """Run the fake Marketo REST API."""
    from devstack.fakes.marketo import create_app

    app = create_app(client_id, client_secret, state_file=state_file, rate_limit=rate_limit,
                     bulk_step_s=bulk_step_seconds)  # fmt: skip
    _serve_fake(app, port)


@fake_app.command("salesforce")
def fake_salesforce(
    port: Annotated[int, typer.Option()],
    client_id: Annotated[str, typer.Option()],
    client_secret: SecretOpt,
    state_file: Annotated[Path | None, typer.Option(help="Keep state across restarts")] = None,
    daily_limit: Annotated[
        int, typer.Option(help="API requests per rolling 24 h (orgs have 15,000 and up)")
    ] = 100_000,
    session_timeout_seconds: Annotated[
        float, typer.Option(help="Inactivity before a session expires (2 h by default)")
    ] = 7200.0,
    query_batch_size: Annotated[int, typer.Option(help="Records per query page")] = 2000,
    jwt_cert: Annotated[
        Path | None, typer.Option(help="The connected app's certificate (PEM), for the JWT flow")
    ] = None,
) -> None:
    """Run the fake Salesforce REST API."""
    from devstack.fakes.salesforce import create_app

    app = create_app(client_id, client_secret, state_file=state_file, daily_limit=daily_limit,
                     session_timeout_s=session_timeout_seconds, query_batch_size=query_batch_size,
                     jwt_cert=jwt_cert.read_bytes() if jwt_cert else None)  # fmt: skip
    _serve_fake(app, port)


if __name__ == "__main__":
    app()
