"""Whether the bot can listen where its configuration says, asked before it starts; and free ports for `make run`.

A port another program holds used to surface only after login: the browser view logged an error and ran without
it, and /healthz (the service manager's and the monitoring's view of the bot) crashed the bot. Both are now found at
preflight, with the config key to change.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Listener:
    key: str  # the config section, as an operator finds it in config.toml: "[monitoring]"
    host: str
    port: int


def listen_problems(listeners: list[Listener], config_file: str) -> list[str]:
    """Why the bot could not listen on each of `listeners`, one line each; [] when it can on all.

    Every socket is held until all are tried, so two sections naming the same port are found too. Like aiohttp's
    server, the sockets use SO_REUSEADDR (a port left in TIME_WAIT by the bot's own restart is no obstacle) and bind
    every address the host resolves to."""
    problems: list[str] = []
    held: list[socket.socket] = []
    try:
        for listener in listeners:
            if problem := _hold(listener, held):
                problems.append(
                    f"{config_file}: {listener.key} cannot listen on {listener.host}:{listener.port}: {problem}. Stop"
                    f" what holds that port (`ss -ltnp 'sport = :{listener.port}'` names it), or set {listener.key}"
                    " port (and host) to a free one"
                )
    finally:
        for sock in held:
            sock.close()
    return problems


def _hold(listener: Listener, held: list[socket.socket]) -> str:
    try:
        infos = socket.getaddrinfo(listener.host or None, listener.port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        return f"the host does not resolve ({err.strerror})"
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        held.append(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # as asyncio's server does
        try:
            sock.bind(address)
            sock.listen()
        except OSError as err:
            return err.strerror or str(err)
    return ""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, chosen by the system."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_or_free(preferred: int, host: str = "127.0.0.1") -> int:
    """`preferred` when it is free on `host`, else any free port: the demo's usual addresses when it can have them."""
    if not listen_problems([Listener("", host, preferred)], ""):
        return preferred
    return free_port(host)
