"""`python -m devstack run` (what `make run` runs): start the whole local stack from
temporal-dev.yaml, wait until every process answers, print where things are, restart a
process that dies (the others keep running), and stop everything cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from sqlmodel import select

from devstack.stack import StackConfig

Check = Callable[[], Awaitable[bool]]


def _die_with_parent() -> None:
    """Linux: children get SIGTERM if `make run` itself is killed."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class Process:
    name: str
    cmd: list[str]
    ready: Check
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self, log_dir: Path, base_env: dict[str, str]) -> None:
        self.log_path = log_dir / f"{self.name}.log"
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.cmd,
            env={**base_env, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def tcp_ready(port: int) -> Check:
    async def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    return check


def http_ready(url: str) -> Check:
    async def check() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(url)).status_code < 500
        except httpx.HTTPError:
            return False

    return check


def worker_ready(cfg: StackConfig) -> Check:
    """The worker is ready when it polls the main task queue."""

    async def check() -> bool:
        from temporalio.api.enums.v1 import TaskQueueType
        from temporalio.api.taskqueue.v1 import TaskQueue
        from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

        from cadence.core.temporal import connect
        from cadence.domain.contracts import TASK_QUEUE

        try:
            client = await connect()
            resp = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=cfg.temporal.namespace,
                    task_queue=TaskQueue(name=TASK_QUEUE),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
            return len(resp.pollers) > 0
        except Exception:
            return False

    return check


def cli(*args: str) -> list[str]:
    """A product command (`cadence worker`, `cadence api`)."""
    return [sys.executable, "-m", "cadence.cli.main", *args]


def dev_cli(*args: str) -> list[str]:
    """A local-stack command (the sink, the fakes)."""
    return [sys.executable, "-m", "devstack", *args]


def build_processes(cfg: StackConfig) -> tuple[list[Process], list[Process]]:
    """(services that start first, app processes that need them)."""
    sink = cfg.smtp_sink
    services = [
        Process(
            "temporal",
            cfg.temporal_command(),
            ready=lambda: _all(tcp_ready(cfg.temporal.port), tcp_ready(cfg.temporal.ui_port)),
        ),
        Process(
            "smtp-sink",
            dev_cli("sink", "--smtp-port", str(sink.smtp_port), "--http-port", str(sink.http_port),
                "--maildir", str(cfg.path(sink.maildir))),
            ready=http_ready(f"http://127.0.0.1:{sink.http_port}/health"),
        ),
    ]  # fmt: skip
    for name, fake in (("marketo", cfg.marketo), ("salesforce", cfg.salesforce)):
        args = ["fake", name, "--port", str(fake.port), "--client-id", fake.client_id]
        if fake.state_file:
            args += ["--state-file", str(cfg.path(fake.state_file))]
        if fake.bulk_step_seconds is not None:
            args += ["--bulk-step-seconds", str(fake.bulk_step_seconds)]
        services.append(
            Process(
                f"fake-{name}",
                dev_cli(*args),
                env={"CADENCE_FAKE_CLIENT_SECRET": fake.client_secret},
                ready=tcp_ready(fake.port),
            )
        )
    apps = [
        Process("worker", cli("worker"), ready=worker_ready(cfg)),
        Process("api", cli("api"), ready=http_ready(f"http://127.0.0.1:{cfg.api.port}/health")),
    ]
    return services, apps


def ports_in_use(cfg: StackConfig) -> list[str]:
    """The stack's ports some other program already holds (an earlier `make run` still up,
    say): starting on them would put two servers behind one address."""
    taken = []
    for name, port in cfg.ports().items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: a
            try:  # closed connection's TIME_WAIT does not hold the port, a listener does
                sock.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"{name} {port}")
    return taken


async def _all(*checks: Check) -> bool:
    return all([await c() for c in checks])


async def wait_ready(processes: list[Process], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    pending = list(processes)
    while pending:
        for proc in list(pending):
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited during start-up:\n{proc.log_tail()}")
            if await proc.ready():
                pending.remove(proc)
        if pending:
            if time.monotonic() > deadline:
                names = ", ".join(p.name for p in pending)
                raise RuntimeError(f"not ready after {limit_s:.0f}s: {names}")
            await asyncio.sleep(0.25)


async def register_attributes(cfg: StackConfig) -> None:
    """Search attributes the server's database lacks (one kept from an earlier version of
    this stack, before an attribute existed): `start-dev` registers them only on a new one."""
    from cadence.core.temporal import connect, register_search_attributes
    from devstack.stack import SEARCH_ATTRIBUTES

    client = await connect(wait_s=30)
    added = await register_search_attributes(
        client, {**SEARCH_ATTRIBUTES, **cfg.temporal.search_attributes}
    )
    if added:
        print(f"Registered search attributes: {', '.join(added)}", flush=True)


def tracking_secret(cfg: StackConfig) -> str:
    """The local stack's secret for signing tracking links, made once, kept in .data."""
    return _kept_secret(cfg, "tracking-secret")


def inbound_token(cfg: StackConfig) -> str:
    """The local stack's inbound-intake token (the sink uses it), made once, kept in .data."""
    return _kept_secret(cfg, "inbound-token")


def _kept_secret(cfg: StackConfig, name: str) -> str:
    path = cfg.data_dir / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def write_env_file(cfg: StackConfig, env: dict[str, str]) -> Path:
    """The settings the stack's processes run with, as a shell file (mode 600) to source
    before running `cadence` commands or a process by hand against this stack."""
    path = cfg.data_dir / "cadence.env"
    path.touch(mode=0o600)
    lines = ["# Written by `make run`: `. .data/cadence.env` to use the local stack's settings."]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in sorted(env.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


TEMPORAL_ENV = "temporal-env.yaml"


def write_temporal_env(cfg: StackConfig) -> Path:
    """A Temporal CLI env file for this stack (the CLI wants a file of its own format:
    `temporal workflow list --env-file .data/temporal-env.yaml --env dev`)."""
    path = cfg.data_dir / TEMPORAL_ENV
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {"address": f"{cfg.temporal.ip}:{cfg.temporal.port}", "namespace": cfg.temporal.namespace}
    path.write_text(
        f"# Written by `make run`: .venv/bin/temporal ... --env-file {path.name} --env dev\n"
        + yaml.safe_dump({"env": {"dev": env}})
    )
    return path


def admin_token(cfg: StackConfig) -> str:
    """The local admin's API token, created on first run and kept in .data/admin-token."""
    from cadence.core.auth import create_user, issue_token, user_for_token
    from cadence.core.db import session_scope
    from cadence.core.models import Role, User

    token_file = cfg.data_dir / "admin-token"
    with session_scope() as session:
        if token_file.exists():
            token = token_file.read_text().strip()
            if user_for_token(session, token) is not None:
                return token
        admin = session.exec(select(User).where(User.email == "admin@cadence.local")).first()
        if admin is None:
            admin, token = create_user(
                session, name="Local Admin", email="admin@cadence.local", role=Role.admin
            )
        else:
            token = issue_token(session, admin, label="dev")
    token_file.touch(mode=0o600)
    token_file.write_text(token + "\n")
    return token


@dataclass
class RestartBudget:
    """How often a process that stops by itself is started again: a crash loop (more than
    ``limit`` restarts within ``window_s``) gives up rather than spin."""

    limit: int = 5
    window_s: float = 60.0
    restarts: dict[str, list[float]] = field(default_factory=dict)

    def allow(self, name: str, now: float) -> bool:
        recent = [t for t in self.restarts.get(name, []) if now - t < self.window_s]
        self.restarts[name] = recent
        if len(recent) >= self.limit:
            return False
        recent.append(now)
        return True


def supervise(
    processes: list[Process],
    log_dir: Path,
    base_env: dict[str, str],
    stopping: Callable[[], bool],
    budget: RestartBudget | None = None,
    interval_s: float = 0.5,
) -> int:
    """Keep the stack running until ``stopping()``: a process that stops unexpectedly (killed
    for its memory, say) is reported with its log's tail and started again, so one crash does
    not take down the rest. 0 when asked to stop, 1 when a process keeps crashing."""
    budget = budget or RestartBudget()
    while not stopping():
        for proc in processes:
            if proc.alive():
                continue
            code = proc.popen.returncode if proc.popen is not None else None
            print(f"\n{proc.name} stopped unexpectedly (exit {code}):\n{proc.log_tail()}",
                  flush=True)  # fmt: skip
            if not budget.allow(proc.name, time.monotonic()):
                print(f"{proc.name} stopped {budget.limit} times within {budget.window_s:.0f} s;"
                      f" see {proc.log_path}", flush=True)  # fmt: skip
                return 1
            print(f"Starting {proc.name} again.", flush=True)
            proc.start(log_dir, base_env)
        time.sleep(interval_s)
    return 0


def run(config_path: Path, ready_timeout: float = 90.0) -> int:
    try:
        cfg = StackConfig.load(config_path)
    except ValueError as err:  # pydantic's ValidationError is one
        print(f"devstack: {config_path}: {err}", file=sys.stderr, flush=True)
        return 1
    taken = ports_in_use(cfg)
    if taken:
        print(f"devstack: ports in use by another program: {', '.join(taken)}. Stop it, or "
              f"change the port in {config_path}.", file=sys.stderr, flush=True)  # fmt: skip
        return 1
    log_dir = cfg.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    app_env = cfg.app_env()
    app_env.setdefault("CADENCE_TRACKING_SECRET", tracking_secret(cfg))
    app_env.setdefault("CADENCE_INBOUND_TOKEN", inbound_token(cfg))
    os.environ.update(app_env)  # for the migration and the admin token below
    base_env = {**os.environ}
    services, apps = build_processes(cfg)
    started: list[Process] = []
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    try:
        t0 = time.monotonic()
        for proc in services:
            proc.start(log_dir, base_env)
            started.append(proc)
        asyncio.run(wait_ready(services, ready_timeout))
        from cadence.core.config import get_settings
        from cadence.core.db import migrate

        get_settings.cache_clear()
        asyncio.run(register_attributes(cfg))
        migrate(cfg.resolved_database_url())
        token = admin_token(cfg)
        write_env_file(cfg, {**app_env, "CADENCE_TOKEN": token})
        write_temporal_env(cfg)
        for proc in apps:
            proc.start(log_dir, base_env)
            started.append(proc)
        asyncio.run(wait_ready(apps, ready_timeout))
        print_banner(cfg, token, time.monotonic() - t0, log_dir)
        code = supervise(started, log_dir, base_env, lambda: stopping)
    except RuntimeError as err:
        print(f"devstack: {err}", file=sys.stderr, flush=True)
        code = 1
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping the local stack...", flush=True)
        for proc in reversed(started):
            proc.stop()
        print("Stopped.", flush=True)
    return code


def print_banner(cfg: StackConfig, token: str, seconds: float, log_dir: Path) -> None:
    api = f"http://127.0.0.1:{cfg.api.port}"
    lines = [
        "",
        f"Cadence local stack is up ({seconds:.1f}s). Ctrl-C stops everything.",
        "",
        f"  API docs         {api}/docs",
        f"  Temporal UI      http://127.0.0.1:{cfg.temporal.ui_port}",
        f"  SMTP sink        http://127.0.0.1:{cfg.smtp_sink.http_port}"
        f"  (SMTP on 127.0.0.1:{cfg.smtp_sink.smtp_port})",
        f"  Fake Marketo     http://127.0.0.1:{cfg.marketo.port}",
        f"  Fake Salesforce  http://127.0.0.1:{cfg.salesforce.port}",
        f"  Temporal gRPC    {cfg.temporal.ip}:{cfg.temporal.port}"
        f"  (namespace {cfg.temporal.namespace})",
        f"  Logs             {log_dir}",
        "",
        f"  Admin API token  {token}",
        f'  export CADENCE_TOKEN="{token}"',
        f"  Settings         . {cfg.data_dir / 'cadence.env'}  (for cadence commands by hand)",
        "",
    ]
    print("\n".join(lines), flush=True)
