"""Opening the byte stream to the SMSC: TCP, or TLS over TCP with certificate checks."""

from __future__ import annotations

import ssl

import trio

from .config import EsmeConfig, TlsConfig
from .errors import ConnectError, TlsError

__all__ = ["open_stream", "ssl_context"]


def ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """A client context that verifies the SMSC's certificate, unless ``tls.verify`` is off."""
    context = ssl.create_default_context(cafile=tls.ca_file)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.cert_file is not None:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    return context


async def open_stream(config: EsmeConfig) -> trio.abc.Stream:
    """Connect (and finish the TLS handshake) within ``config.connect_timeout``.

    Raises :class:`ConnectError` (:class:`TlsError` for a failed handshake).
    """
    address = f"{config.host}:{config.port}"
    tls = config.tls
    context: ssl.SSLContext | None = None
    if tls is not None:
        try:
            context = ssl_context(tls)
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(config.name, address, f"cannot load TLS files: {exc}") from exc
    tcp: trio.SocketStream | None = None
    try:
        with trio.fail_after(config.connect_timeout):
            tcp = await trio.open_tcp_stream(config.host, config.port)
            if context is None:
                return tcp
            assert tls is not None
            stream = trio.SSLStream(
                tcp, context, server_hostname=tls.server_hostname or config.host
            )
            try:
                await stream.do_handshake()
            except trio.BrokenResourceError as exc:
                cause = exc.__cause__ if exc.__cause__ is not None else exc
                raise TlsError(config.name, address, f"TLS handshake failed: {cause}") from exc
            return stream
    except trio.TooSlowError:
        if tcp is not None:
            await trio.aclose_forcefully(tcp)
        raise ConnectError(
            config.name, address, f"timed out after {config.connect_timeout:g} s"
        ) from None
    except TlsError:
        if tcp is not None:
            await trio.aclose_forcefully(tcp)
        raise
    except OSError as exc:
        raise ConnectError(config.name, address, _os_reason(exc)) from exc


def _os_reason(exc: OSError) -> str:
    # open_tcp_stream reports "all attempts failed" and keeps the real errors in the cause.
    cause = exc.__cause__
    if isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        return "; ".join(str(e) for e in cause.exceptions)
    return str(exc)
