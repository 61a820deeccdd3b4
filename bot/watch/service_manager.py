"""Telling systemd how the bot is (sd_notify): ready once it has synced, and alive — the watchdog — only while its
event loop turns and its sweep of due deadlines runs, so a hung bot is restarted rather than left silent.

The protocol is one datagram on the socket systemd names in NOTIFY_SOCKET (`Type=notify`, `WatchdogSec=`); outside
systemd there is no socket and every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(message: str) -> bool:
    """Send `message` ("READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=…"); False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as err:
        log.warning("could not tell systemd %s: %s", message.split("=", 1)[0], err)
        return False
    return True


def watchdog_every_s() -> float | None:
    """How often to pet the watchdog (half its timeout), or None when systemd keeps none for this process."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000 / 2
