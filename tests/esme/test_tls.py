"""TLS with a real CA and server certificate (trustme): verified, refused, or opted out."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trustme

from smpp_engine.esme import TlsConfig, TlsError, open_bind

from .conftest import FakeSmsc, make_config
from .test_bind import submit_sm


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
async def tls_smsc(nursery: trio.Nursery, ca: trustme.CA) -> AsyncIterator[FakeSmsc]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "smsc.test").configure_cert(context)
    server = FakeSmsc(tls=context)
    await nursery.start(server.serve)
    yield server


@pytest.mark.parametrize("server_hostname", [None, "smsc.test"])
async def test_tls_with_a_trusted_certificate_binds_and_submits(
    tls_smsc: FakeSmsc, ca_file: str, server_hostname: str | None
) -> None:
    tls = TlsConfig(ca_file=ca_file, server_hostname=server_hostname)
    async with open_bind(make_config(tls_smsc, tls=tls)) as bind:
        outcome = await bind.submit(submit_sm())
    assert outcome.accepted
    assert len(tls_smsc.bound_links) == 1


async def test_untrusted_certificate_is_refused(tls_smsc: FakeSmsc) -> None:
    with pytest.raises(TlsError) as caught:
        async with open_bind(make_config(tls_smsc, tls=TlsConfig())):
            pytest.fail("bound over an unverified certificate")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert tls_smsc.bound_links == []


async def test_certificate_for_another_host_is_refused(tls_smsc: FakeSmsc, ca_file: str) -> None:
    tls = TlsConfig(ca_file=ca_file, server_hostname="other.example")
    with pytest.raises(TlsError):
        async with open_bind(make_config(tls_smsc, tls=tls)):
            pytest.fail("bound to a certificate for another name")
    assert tls_smsc.bound_links == []


async def test_verification_can_be_switched_off_explicitly(tls_smsc: FakeSmsc) -> None:
    async with open_bind(make_config(tls_smsc, tls=TlsConfig(verify=False))) as bind:
        assert (await bind.submit(submit_sm())).accepted


async def test_missing_ca_file_is_a_tls_error(tls_smsc: FakeSmsc, tmp_path: Path) -> None:
    tls = TlsConfig(ca_file=str(tmp_path / "absent.pem"))
    with pytest.raises(TlsError) as caught:
        async with open_bind(make_config(tls_smsc, tls=tls)):
            pytest.fail("bound without a CA")
    assert "absent.pem" in str(caught.value) or "No such file" in str(caught.value)
