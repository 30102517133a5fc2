"""Secrets kept out of everything the engine prints: errors, logs, shown settings.

A secret is recognised three ways, and each printing path uses all of them:

- by its key: the value of a key named like a password, secret, API key,
  authorization or token (:func:`is_secret_key`, :func:`redact_mapping`);
- by its place: the password of ``user:password@host`` in a URL (with or
  without a scheme), a ``?password=`` query parameter, a ``password=...``
  pair of a key=value connection string (:func:`mask_url`, :func:`mask_text`);
- by its value: a secret the process was told of (:func:`remember`: the
  settings' passwords, the store URL's, a ``--password``) is masked wherever it
  appears, even inside another field's value (:func:`mask_text`).

Secrets shorter than :data:`MIN_REMEMBERED` characters are masked by key and
place only: masking every "ab" in a message would garble it and hide nothing.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote

__all__ = [
    "MASK",
    "MIN_REMEMBERED",
    "forget_all",
    "is_secret_key",
    "mask_text",
    "mask_url",
    "redact_mapping",
    "remember",
    "remember_url",
    "secrets_in",
    "url_password",
]

MASK = "***"
#: Remembered secrets this short are not masked by value.
MIN_REMEMBERED = 4

_SECRET_WORD = r"pass(?:word|wd)|secret|api[_-]?key|authorization|token"
_SECRET_KEY = re.compile(_SECRET_WORD, re.IGNORECASE)
# key=value, as in a DSN ("host=db password=x"), a query string ("?password=x&a=b")
# or a message ("password = 'x'"); the key may carry a prefix (sslpassword, db_password).
_ASSIGNED = re.compile(
    rf"(?P<key>[\w.-]*(?:{_SECRET_WORD})[\w.-]*\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,)'\"]+)",
    re.IGNORECASE,
)
# "key": "value" or 'key': 'value', as in JSON or a Python dict's repr.
_QUOTED_PAIR = re.compile(
    rf"(?P<key>(?P<q>[\"'])[^\"']*(?:{_SECRET_WORD})[^\"']*(?P=q)\s*:\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s,}\]]+)",
    re.IGNORECASE,
)
# An HTTP header line: "Authorization: Bearer x", "X-API-Key: x".
_HEADER = re.compile(
    r"(?P<key>\b(?:authorization|x-api-key|api-key)\s*:\s*(?:(?:bearer|basic)\s+)?)"
    r"(?P<value>[^\s,;]+)",
    re.IGNORECASE,
)
# A run of text that may be a URL: credentials are inside one, never across a space or quote.
_TOKEN = re.compile(r"[^\s'\"]+")


class _Remembered:
    """The secrets this process knows of, longest first (a secret may contain a shorter one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._ordered: tuple[str, ...] = ()

    def add(self, values: Iterable[str]) -> None:
        forms = {form for value in values for form in _forms(value)}
        with self._lock:
            if forms <= self._values:
                return
            self._values |= forms
            self._ordered = tuple(sorted(self._values, key=len, reverse=True))

    def clear(self) -> None:
        with self._lock:
            self._values = set()
            self._ordered = ()

    @property
    def ordered(self) -> tuple[str, ...]:
        return self._ordered


_remembered = _Remembered()


def _forms(secret: str) -> set[str]:
    """``secret`` as it may be printed: raw, escaped by repr or JSON, percent-encoded."""
    if len(secret) < MIN_REMEMBERED:
        return set()
    forms = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    return {form for form in forms if len(form) >= MIN_REMEMBERED}


def remember(*secrets: str | None) -> None:
    """Mask these values wherever :func:`mask_text` sees them, from now on."""
    _remembered.add(secret for secret in secrets if secret)


def remember_url(url: str | None) -> None:
    """Remember the password of ``url`` (raw and percent-decoded) and of its query."""
    if not url:
        return
    password = url_password(url)
    if password:
        remember(password, unquote(password))
    for match in _ASSIGNED.finditer(url):
        value = match["value"].strip("'\"")
        remember(value, unquote(value))


def forget_all() -> None:
    """Forget every remembered secret (tests)."""
    _remembered.clear()


def is_secret_key(key: object) -> bool:
    """Whether ``key`` names a secret: password, passwd, secret, API key, authorization, token."""
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None


def url_password(url: str) -> str | None:
    """The password of ``[scheme://]user:password@host...``; None when it has none.

    The user part ends at the last ``@``, so a password holding ``/`` or ``@``
    (which should have been percent-encoded) is taken whole all the same.
    """
    _, rest = _split_scheme(url)
    user_part, at, _host = rest.rpartition("@")
    if not at:
        return None
    _user, colon, password = user_part.partition(":")
    return password if colon else None


def mask_url(url: str) -> str:
    """``url`` (a store URL in any shape, or a key=value DSN) with every credential masked."""
    return _mask_known(_mask_pairs(_mask_userinfo(url)), _remembered.ordered)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with credentials in URLs, secret key=value pairs and known secrets masked.

    ``secrets`` are masked by value in addition to the remembered ones.
    """
    masked = text
    # The checks before each pass keep a log line without credentials cheap.
    if "@" in masked:
        masked = _TOKEN.sub(_mask_token, masked)
    if _SECRET_KEY.search(masked):
        masked = _mask_pairs(masked)
    extra = {form for secret in secrets for form in _forms(secret)}
    known = _remembered.ordered
    if extra:
        known = tuple(sorted(extra | set(known), key=len, reverse=True))
    return _mask_known(masked, known)


def redact_mapping(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    """A copy of ``mapping``: secret-named keys' values masked, text through :func:`mask_text`.

    Nested mappings, lists and tuples are walked.
    """
    return {
        key: MASK if is_secret_key(key) else _redact_value(value) for key, value in mapping.items()
    }


def secrets_in(data: Any) -> set[str]:
    """The secret values in nested mappings and lists: those under secret-named keys,
    and the passwords of URLs in any text value (raw and percent-decoded)."""
    found: set[str] = set()

    def walk(node: Any, secret: bool) -> None:
        if isinstance(node, Mapping):
            # A table under a secret-named key ("api_keys") is judged by its own keys.
            for key, value in node.items():
                walk(value, is_secret_key(key))
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item, secret)
        elif isinstance(node, str) and node:
            if secret:
                found.add(node)
            password = url_password(node)
            if password:
                found.update((password, unquote(password)))
            for match in _ASSIGNED.finditer(node):
                value = match["value"].strip("'\"")
                found.update((value, unquote(value)))

    walk(data, False)
    return found


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_redact_value(item) for item in value)
    return value


def _split_scheme(url: str) -> tuple[str, str]:
    scheme, separator, rest = url.partition("://")
    return (scheme + separator, rest) if separator else ("", url)


def _mask_userinfo(url: str) -> str:
    prefix, rest = _split_scheme(url)
    user_part, at, host = rest.rpartition("@")
    if not at:
        return url
    user, colon, _password = user_part.partition(":")
    if not colon:
        return url
    return f"{prefix}{user}:{MASK}@{host}"


def _mask_token(match: re.Match[str]) -> str:
    token = match.group()
    return _mask_userinfo(token) if "@" in token else token


def _mask_pairs(text: str) -> str:
    for pattern in (_ASSIGNED, _QUOTED_PAIR, _HEADER):
        text = pattern.sub(_masked_pair, text)
    return text


def _masked_pair(match: re.Match[str]) -> str:
    # Masked already (text masked twice): keep what follows the mask, e.g. ": reason".
    value = match["value"]
    return match.group() if value.startswith(MASK) else match["key"] + MASK


def _mask_known(text: str, known: tuple[str, ...]) -> str:
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text
