"""`make run` as real processes on free ports, for the end-to-end tests: the stack's
description is temporal-dev.yaml with every port replaced, written to a temporary folder that
also holds its .data."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.utils.net import free_port

ROOT = Path(__file__).resolve().parents[2]
CADENCE = Path(sys.executable).parent / "cadence"
DEVSTACK = [sys.executable, "-m", "devstack"]  # the local stack's commands (dev tooling)


def write_config(folder: Path, **settings: str) -> Path:
    """temporal-dev.yaml with free ports (and extra ``settings``), in ``folder``."""
    cfg: dict[str, Any] = yaml.safe_load((ROOT / "temporal-dev.yaml").read_text())
    cfg["temporal"].update(port=free_port(), ui_port=free_port())
    cfg["api"]["port"] = free_port()
    cfg["smtp_sink"].update(smtp_port=free_port(), http_port=free_port())
    cfg["marketo"]["port"] = free_port()
    cfg["salesforce"]["port"] = free_port()
    cfg["settings"].update(settings)
    config = folder / "temporal-dev.yaml"
    config.write_text(yaml.safe_dump(cfg))
    return config


class Stack:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.cfg: dict[str, Any] = yaml.safe_load(config.read_text())
        self.api = f"http://127.0.0.1:{self.cfg['api']['port']}"
        self.sink = f"http://127.0.0.1:{self.cfg['smtp_sink']['http_port']}"
        self.marketo = f"http://127.0.0.1:{self.cfg['marketo']['port']}"
        self.salesforce = f"http://127.0.0.1:{self.cfg['salesforce']['port']}"
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self) -> str:
        """Start `make run`; return the admin token from its banner."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
        self.output = []
        self.proc = subprocess.Popen(
            [*DEVSTACK, "run", "--config", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=self.config.parent,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            self.output.append(line)
            found = re.search(r"Admin API token\s+(\S+)", line)
            if found:
                return found.group(1)
        raise AssertionError("python -m devstack run did not come up:\n" + "".join(self.output))

    def stop(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=60)
        self.output.extend(self.proc.stdout.readlines())
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (AssertionError, httpx.HTTPError):
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        time.sleep(0.3)
