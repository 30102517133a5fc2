"""``[smpp_server]`` and ``[[tenants.smpp]]``: off unless present; bad values named."""

from __future__ import annotations

from pathlib import Path

from smpp_engine.settings import check_smpp_password, hash_smpp_password

from .helpers import MINIMAL, load_text
from .test_errors import only, problems_of

DIGEST = hash_smpp_password("pw", iterations=1000)


def _tenant(credentials: str) -> str:
    return MINIMAL + '\n[[tenants]]\nname = "acme"\n' + credentials


def _credential(system_id: str, extra: str = "") -> str:
    return f'\n[[tenants.smpp]]\nsystem_id = "{system_id}"\npassword_digest = "{DIGEST}"\n{extra}'


def test_off_unless_present_and_a_credential_loads(tmp_path: Path) -> None:
    assert load_text(tmp_path, MINIMAL).smpp_server is None
    settings = load_text(
        tmp_path,
        _tenant(_credential("acme1", 'id_format = "hex"\n')) + "\n[smpp_server]\nport = 0\n",
    )
    assert settings.smpp_server is not None and settings.smpp_server.port == 0
    (credential,) = settings.tenants[0].smpp
    assert credential.id_format == "hex" and check_smpp_password("pw", credential.password_digest)
    assert not check_smpp_password("px", credential.password_digest)


def test_a_digest_that_is_not_one_is_named(tmp_path: Path) -> None:
    problem = only(
        problems_of(
            tmp_path,
            _tenant('\n[[tenants.smpp]]\nsystem_id = "a"\npassword_digest = "secret"\n'),
        )
    )
    assert problem.key == "tenants[acme].smpp[0].password_digest"


def test_system_ids_are_unique_and_routes_exist(tmp_path: Path) -> None:
    text = _tenant(_credential("a") + _credential("a", 'route = "nowhere"\n'))
    keys = {p.key for p in problems_of(tmp_path, text)}
    assert keys == {"tenants[acme].smpp[1].system_id", "tenants[acme].smpp[1].route"}


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    problem = only(problems_of(tmp_path, MINIMAL + f'\n[smpp_server]\ntls_cert_file = "{cert}"\n'))
    assert problem.key.startswith("smpp_server")
