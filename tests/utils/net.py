"""Ports for the servers tests start."""

from __future__ import annotations

import random
import socket

# Below Linux's ephemeral range (32768-60999): a server that asks the kernel for any free
# port (the Temporal dev server does, for its internal services) cannot be handed one of
# these after we chose it and before our own server bound it.
_LOW, _HIGH = 20000, 32000
_given: set[int] = set()
_pick = random.Random()


def free_port() -> int:
    """A port free now and never given before in this test run, so two servers a test starts
    cannot be told the same one."""
    while True:
        port = _pick.randrange(_LOW, _HIGH)
        if port in _given:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
