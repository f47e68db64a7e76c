"""The `cadence` command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cadence.core.config import ConfigError, get_settings

app = typer.Typer(help="Sales cadence engine on Temporal.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users and their API tokens.", no_args_is_help=True)
playbook_app = typer.Typer(help="Work with playbook YAML files.", no_args_is_help=True)
db_app = typer.Typer(help="The app database.", no_args_is_help=True)
replies_app = typer.Typer(help="Classify inbound mail (replies, auto-replies, bounces).",
                          no_args_is_help=True)  # fmt: skip
app.add_typer(users_app, name="users")
app.add_typer(playbook_app, name="playbook")
app.add_typer(db_app, name="db")
app.add_typer(replies_app, name="replies")
marketo_app = typer.Typer(help="Set up the Marketo side.", no_args_is_help=True)
app.add_typer(marketo_app, name="marketo")


def _logging() -> None:
    from cadence.core.logs import configure_logging

    configure_logging()


@app.callback()
def _check_settings() -> None:
    """Every command starts by reading the settings: a setting given by halves stops it."""
    get_settings()


@app.command()
def worker() -> None:
    """Run the Temporal worker."""
    import worker as worker_module

    _logging()
    asyncio.run(worker_module.run())
    worker_module.exit_cleanly()


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Default: CADENCE_API_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: CADENCE_API_PORT")] = None,
) -> None:
    """Run the HTTP API."""
    import uvicorn

    settings = get_settings()
    settings.require_database_url()
    uvicorn.run(
        "api.main:app",
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (CADENCE_DATABASE_URL)."""
    from cadence.core.db import migrate

    migrate()
    typer.echo("database is up to date")


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="admin, author or rep")],
    title: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a user and print their API token (shown once)."""
    from cadence.core.auth import create_user
    from cadence.core.db import migrate, session_scope
    from cadence.core.models import Role

    try:
        role_value = Role(role)
    except ValueError:
        typer.echo(f"error: role must be admin, author or rep, not {role!r}", err=True)
        raise typer.Exit(1) from None
    migrate()
    try:
        with session_scope() as session:
            user, token = create_user(session, name=name, email=email, role=role_value, title=title)
            user_id = user.id
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"id": user_id, "email": email.lower(), "role": role, "token": token}))


@playbook_app.command("validate")
def playbook_validate(files: Annotated[list[Path], typer.Argument(exists=False)]) -> None:
    """Check playbooks; errors print as file:line:col: message. Exit 1 on any error."""
    from cadence.domain.playbook_yaml import PlaybookError, parse_playbook, read_playbook_file

    failed = False
    for path in files:
        try:
            playbook = parse_playbook(read_playbook_file(path))
        except OSError as err:
            typer.echo(f"{path}:1:1: cannot read: {err.strerror}", err=True)
            failed = True
            continue
        except PlaybookError as err:
            for issue in err.issues:
                typer.echo(issue.format(str(path)), err=True)
            failed = True
            continue
        typer.echo(f"{path}: ok ({playbook.name!r}, {len(playbook.steps)} steps)")
    raise typer.Exit(1 if failed else 0)


@playbook_app.command("simulate")
def playbook_simulate(
    file: Annotated[Path, typer.Argument(help="The playbook YAML")],
    start: Annotated[str, typer.Option(help="Enrollment instant, ISO 8601 with offset or Z")],
    lead_tz: Annotated[str | None, typer.Option(help="The lead's time zone")] = None,
    owner_tz: Annotated[str | None, typer.Option(help="The owner's time zone")] = None,
    country: Annotated[str | None, typer.Option(help="The lead's country (holidays)")] = None,
    events: Annotated[
        Path | None, typer.Option(help="YAML/JSON list of {at, type, step?, note?}")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array")] = False,
) -> None:
    """Run the real enrollment workflow on the time-skipping test server and show when each
    step would run. Nothing is sent."""
    from cadence.cli.simulate import load_events, parse_instant, simulate
    from cadence.domain.location import zone_problem
    from cadence.domain.playbook_yaml import (
        PlaybookError,
        country_problem,
        parse_playbook,
        read_playbook_file,
    )

    # A zone or country nobody knows is an error here, not the silent fallback of a record.
    wrong = [
        f"{option}: {problem}"
        for option, value, check in (("--lead-tz", lead_tz, zone_problem),
                                     ("--owner-tz", owner_tz, zone_problem),
                                     ("--country", country, country_problem))
        if value is not None and (problem := check(value))
    ]  # fmt: skip
    if wrong:
        typer.echo("\n".join(wrong), err=True)
        raise typer.Exit(1)
    try:
        playbook = parse_playbook(read_playbook_file(file))
        instant = parse_instant(start)
    except OSError as err:
        typer.echo(f"{file}:1:1: cannot read: {err.strerror}", err=True)
        raise typer.Exit(1) from None
    except PlaybookError as err:
        for issue in err.issues:
            typer.echo(issue.format(str(file)), err=True)
        raise typer.Exit(1) from None
    except ValueError as err:
        typer.echo(f"--start: {err}", err=True)
        raise typer.Exit(1) from None
    try:
        happenings = load_events(read_playbook_file(events)) if events else []
    except PlaybookError as err:
        for issue in err.issues:
            typer.echo(issue.format(str(events)), err=True)
        raise typer.Exit(1) from None
    except (OSError, ValueError) as err:
        typer.echo(f"{events}: {err}", err=True)
        raise typer.Exit(1) from None
    try:
        result = asyncio.run(simulate(playbook, instant, lead_tz, owner_tz, country, happenings))
    except ValueError as err:
        typer.echo(f"simulate: {err}", err=True)
        _exit_now(1)
        return
    if as_json:
        typer.echo(json.dumps([s.as_json() for s in result.steps], indent=2))
    else:
        typer.echo(f"Time zone {result.timezone}")
        for s in result.steps:
            typer.echo(f"  {s.at.strftime('%a %Y-%m-%d %H:%M %z')}  {s.step:<20} {s.type}")
        typer.echo(f"Ends: {result.status} ({result.end_reason})")
    _exit_now(0)


@marketo_app.command("provision")
def marketo_provision() -> None:
    """Create, complete and approve the sales custom activity types in Marketo (Send Sales
    Email, Open, Click, Reply, Bounced, Received Sales Call, Add to / Remove from Sales
    Campaign) with their attributes. Safe to run again: what is in place is only read.
    Uses CADENCE_MARKETO_BASE_URL, CADENCE_MARKETO_CLIENT_ID and ..._CLIENT_SECRET."""
    import asyncio

    from cadence.core.config import off_hint
    from cadence.integrations.marketo import MarketoClient, MarketoError
    from cadence.integrations.marketo_types import TYPES_BY_KIND, ensure_activity_types

    settings = get_settings()
    base_url, client_id, secret_str = (
        settings.marketo_base_url, settings.marketo_client_id, settings.marketo_client_secret
    )  # fmt: skip
    if not (base_url and client_id and secret_str):
        typer.echo(f"Marketo is off: set {off_hint('marketo')}", err=True)
        raise typer.Exit(1)
    secret = secret_str.get_secret_value()

    async def provision() -> dict[str, int]:
        async with MarketoClient(base_url, client_id, secret) as client:
            return await ensure_activity_types(client)

    try:
        ids = asyncio.run(provision())
    except (MarketoError, OSError) as err:
        typer.echo(f"{settings.marketo_base_url}: {err}", err=True)
        raise typer.Exit(1) from None
    for kind, type_id in ids.items():
        spec = TYPES_BY_KIND[kind]
        typer.echo(json.dumps({"kind": kind, "apiName": spec.api_name, "name": spec.name,
                               "id": type_id, "status": "approved"}))  # fmt: skip


@replies_app.command("classify")
def replies_classify(
    files: Annotated[list[Path], typer.Argument(help="Raw RFC 822 messages (.eml)")],
    as_json: Annotated[
        bool,
        typer.Option("--json/--text", help="One JSON object per line (default), or a table"),
    ] = True,
    explain: Annotated[bool, typer.Option(help="Add the reason and the status code")] = False,
) -> None:
    """Print, per file, {"file", "label", "return_date"} as one JSON object per line; a bounce
    adds its "reason" (userunknown, mailboxfull, ...) and RFC 3463 "status"."""
    from cadence.replies.classify import classify

    failed = False
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as err:
            typer.echo(f"{path}: cannot read: {err.strerror}", err=True)
            failed = True
            continue
        verdict = classify(raw)
        out: dict[str, object] = {
            "file": str(path),
            "label": verdict.label,
            "return_date": verdict.return_date.isoformat() if verdict.return_date else None,
        }
        if verdict.label.startswith("bounce"):  # why: the reason list in docs/replies.md
            out |= {"reason": verdict.reason, "status": verdict.status}
        if explain:
            out |= {"reason": verdict.reason, "status": verdict.status}
        if as_json:
            typer.echo(json.dumps(out, ensure_ascii=False))
        else:
            typer.echo("\t".join(str(v) if v is not None else "-" for v in out.values()))
    raise typer.Exit(1 if failed else 0)


@replies_app.command("eval")
def replies_eval(
    folder: Annotated[Path, typer.Argument(help="A folder with manifest.json and the messages")],
    check: Annotated[bool, typer.Option(help="Exit 1 when a target is missed")] = False,
) -> None:
    """Grade the classifier on a labelled folder: confusion matrix, precision and recall per
    label, return-date accuracy, and the targets."""
    from cadence.replies.evaluate import evaluate

    try:
        report = evaluate(folder)
    except (OSError, ValueError, KeyError) as err:
        typer.echo(f"{folder / 'manifest.json'}: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(report.render())
    raise typer.Exit(1 if check and not report.meets_targets() else 0)


def _exit_now(code: int) -> None:
    """Exit without interpreter finalization: the Temporal core's threads can abort a
    finalizing interpreter (PyGILState_Release) after the work is done, which would turn a
    success into exit code 134."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@playbook_app.command("schema")
def playbook_schema() -> None:
    """Print the playbook JSON Schema, for editors: `cadence playbook schema >
    playbook.schema.json` (docs/playbooks.md says how to use it in VS Code)."""
    from cadence.domain.playbook_yaml import playbook_json_schema

    typer.echo(json.dumps(playbook_json_schema(), indent=2))


def main() -> None:
    try:
        app()
    except ConfigError as err:
        typer.echo(f"cadence: configuration error: {err}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())  # type: ignore[func-returns-value]
