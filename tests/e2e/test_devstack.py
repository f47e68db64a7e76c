"""`make run` keeps the local stack up: a process that dies (killed for its memory, say) is
started again while the others go on; a process that keeps dying stops the stack."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from devstack.runner import Process, RestartBudget, supervise, write_temporal_env
from devstack.stack import StackConfig
from tests.utils.live_stack import DEVSTACK, write_config
from tests.utils.net import free_port
from tests.utils.temporal import TEMPORAL_CLI


async def _never() -> bool:
    return True


def _process(name: str, code: str) -> Process:
    return Process(name=name, cmd=[sys.executable, "-c", code], ready=_never)


def test_a_process_that_dies_is_started_again_and_the_others_go_on(tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    crashes_once = _process(
        "api",
        f"import pathlib, sys, time\nm = pathlib.Path({str(marker)!r})\n"
        "if not m.exists():\n    m.write_text('x'); sys.exit(3)\ntime.sleep(60)",
    )
    steady = _process("worker", "import time; time.sleep(60)")
    for proc in (crashes_once, steady):
        proc.start(tmp_path, {})
    first_worker = steady.popen
    end = time.monotonic() + 3
    try:
        code = supervise([crashes_once, steady], tmp_path, {}, lambda: time.monotonic() > end,
                         interval_s=0.1)  # fmt: skip
        assert code == 0
        assert crashes_once.alive() and marker.exists()  # started again, and running now
        assert steady.popen is first_worker and steady.alive()  # never touched
    finally:
        crashes_once.stop()
        steady.stop()


def test_a_process_that_keeps_dying_stops_the_stack(tmp_path: Path) -> None:
    broken = _process("api", "import sys; sys.exit(3)")
    broken.start(tmp_path, {})
    end = time.monotonic() + 20
    started = time.monotonic()
    code = supervise([broken], tmp_path, {}, lambda: time.monotonic() > end,
                     budget=RestartBudget(limit=3, window_s=60), interval_s=0.05)  # fmt: skip
    assert code == 1 and time.monotonic() - started < 10  # gave up, did not spin to the end


def test_the_restart_budget_forgets_old_crashes() -> None:
    budget = RestartBudget(limit=2, window_s=60)
    assert budget.allow("api", 0) and budget.allow("api", 10)
    assert not budget.allow("api", 20)  # a third within the minute
    assert budget.allow("api", 75)  # the first two are more than a minute old
    assert budget.allow("worker", 20)  # each process has its own


def test_the_temporal_cli_reads_the_env_file_the_stack_writes(tmp_path: Path) -> None:
    """The README's `temporal workflow list --env-file .data/temporal-env.yaml --env dev`: the
    CLI takes the file (temporal-dev.yaml itself is not in its format) and finds the stack's
    address and namespace in it."""
    config = write_config(tmp_path)
    cfg = StackConfig.load(config)
    path = write_temporal_env(cfg)
    assert path == tmp_path / ".data" / "temporal-env.yaml"
    shown = subprocess.run(
        [str(TEMPORAL_CLI), "env", "get", "--env-file", str(path), "--env", "dev", "-o", "json"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    properties = {p["property"]: p["value"] for p in json.loads(shown.stdout)}
    assert properties == {"address": f"127.0.0.1:{cfg.temporal.port}", "namespace": "default"}


def test_two_servers_on_one_port_is_an_error_in_the_description(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    text = config.read_text()
    cfg = StackConfig.load(config)
    config.write_text(text.replace(f"http_port: {cfg.smtp_sink.http_port}",
                                   f"http_port: {cfg.temporal.ui_port}"))  # fmt: skip
    started = subprocess.run([*DEVSTACK, "run", "--config", str(config)],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert started.returncode == 1
    assert "smtp_sink.http_port and temporal.ui_port are both port" in started.stderr


def test_a_port_another_program_holds_stops_the_start_before_anything_runs(tmp_path: Path) -> None:
    """An earlier `make run` still up: the new one says which port, and starts nothing (it
    would otherwise put two servers behind one address, and talk to the wrong one)."""
    config = write_config(tmp_path)
    cfg = StackConfig.load(config)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", cfg.smtp_sink.http_port))
        holder.listen()
        started = subprocess.run([*DEVSTACK, "run", "--config", str(config)],
                                 capture_output=True, text=True, timeout=60)  # fmt: skip
    assert started.returncode == 1
    assert f"smtp_sink.http_port {cfg.smtp_sink.http_port}" in started.stderr
    assert not (tmp_path / ".data" / "logs").exists()  # nothing was started


def test_free_ports_for_tests_are_never_given_twice() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
