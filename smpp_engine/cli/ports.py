"""The addresses a command listens on, named by the settings or options that choose them.

A port in use (or not allowed, or on an address this machine does not have)
is one line naming what wanted it and the setting to change:
``the HTTP API cannot listen on 127.0.0.1:8080 ([http] port): Address already in use``.
:func:`ensure_free` says so before anything starts (so nothing else is logged
first); :func:`listen_failure` names the address when a start failed all the same.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import LISTEN_ERRNOS, fail, single_error

__all__ = ["Listener", "ensure_free", "listen_failure"]


@dataclass(frozen=True, slots=True)
class Listener:
    """An address a command listens on: ``what`` it is and the ``option`` that sets it.

    ``http`` is true for the ASGI faces, whose failures name their address
    (:class:`~smpp_engine.asgi_serving.ListenError`); an SMPP listener's OSError names none.
    """

    what: str
    option: str
    host: str
    port: int
    http: bool


def listen_failure(exc: BaseException, listeners: Sequence[Listener]) -> str | None:
    """One line naming the address that could not be listened on, or None when ``exc``
    is not such a failure."""
    from ..asgi_serving import ListenError  # noqa: PLC0415 - the web stack loads with it

    error = single_error(exc)
    if not isinstance(error, OSError) or error.errno not in LISTEN_ERRNOS:
        return None
    reason = error.strerror or str(error)
    if isinstance(error, ListenError):
        named = [
            one
            for one in listeners
            if one.http and (one.host, one.port) in ((error.host, error.port), (error.host, 0))
        ]
        return _line(named[0], error.port, reason) if named else str(error)
    candidates = [one for one in listeners if not one.http and one.port != 0]
    if len(candidates) > 1:
        candidates = [one for one in candidates if not _can_bind(one)] or candidates
    if len(candidates) == 1:
        return _line(candidates[0], candidates[0].port, reason)
    where = ", ".join(f"{one.what} {one.host}:{one.port} ({one.option})" for one in candidates)
    return f"cannot listen on one of {where}: {reason}" if where else f"cannot listen: {reason}"


def _line(listener: Listener, port: int, reason: str) -> str:
    return f"{listener.what} cannot listen on {listener.host}:{port} ({listener.option}): {reason}"


def _can_bind(listener: Listener) -> bool:
    """Whether the address is free now (to tell which of several failed)."""
    return _bind_problem(listener) is None


def _bind_problem(listener: Listener) -> OSError | None:
    """The error binding ``listener``'s address gives now; None when it is free."""
    try:
        infos = socket.getaddrinfo(listener.host, listener.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return exc
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            # As the listeners themselves do, so a port in TIME_WAIT counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                return exc
    return None


#: What :func:`ensure_free` reports; anything else (an IPv6 address this host
#: lacks, a name that does not resolve) is left to the start to report.
_SURELY_TAKEN = frozenset({errno.EADDRINUSE, errno.EACCES})


def ensure_free(listeners: Sequence[Listener]) -> None:
    """Raise the one-line error for the first fixed port that is in use (or not allowed) now."""
    for listener in listeners:
        if listener.port == 0:
            continue
        problem = _bind_problem(listener)
        if problem is not None and problem.errno in _SURELY_TAKEN:
            reason = problem.strerror or str(problem)
            raise fail(_line(listener, listener.port, reason))
