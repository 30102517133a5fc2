"""Callbacks over https: the receiver's certificate is checked against the trust store
given (the system's by default) and its host name; one that fails is a failed attempt."""

from __future__ import annotations

import ssl

import pytest
import trio
import trustme

from smpp_engine.callbacks.http import CallbackHttp, HttpError

from .receiver import receiving


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def _server(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    return context


async def test_a_trusted_receiver_gets_the_post_over_tls(authority: trustme.CA) -> None:
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    http = CallbackHttp(per_origin=2, ssl_context=client_context)
    async with receiving(_server(authority)) as receiver:
        url = receiver.url("/tls", scheme="https", host="localhost")
        with trio.fail_after(30):
            for _ in range(3):  # the second and third go over the kept connection
                assert await http.post(url, b'{"a":1}', {"Content-Type": "application/json"}) == 204
        await http.aclose()
    assert [r.body for r in receiver.delivered] == [b'{"a":1}'] * 3


async def test_an_untrusted_or_misnamed_certificate_fails_the_attempt(
    authority: trustme.CA,
) -> None:
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    async with receiving(_server(authority)) as receiver:
        for context, host in ((None, "localhost"), (trusting, "127.0.0.1")):
            http = CallbackHttp(ssl_context=context)
            with trio.fail_after(30), pytest.raises(HttpError, match="cannot connect"):
                await http.post(receiver.url("/tls", scheme="https", host=host), b"{}", {})
            await http.aclose()
    assert receiver.delivered == []
