"""Every answer the HTTP API tests get, checked against the OpenAPI document.

The clients of these tests (``client_for``, the hostile-input server) run
:meth:`DocumentCheck.check` on each answer: its status must be one the document
gives for the operation, and its body must match the document's schema, formats
included. A path or method the document does not know may get 401, 404 or 405
with an error body, or Starlette's redirect of a path with a trailing slash. So
every test of the suite, odd stored rows and hostile inputs among them, is also
a test of the document against real answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import jsonschema_rs

from smpp_engine.http_api import openapi_document

#: Routes the document leaves out on purpose: the document itself.
UNDOCUMENTED = frozenset({"/openapi.json"})


@dataclass
class DocumentCheck:
    """The document of an API with ``routes``; ``seen`` keeps each (operation, status) met."""

    routes: Sequence[str]
    seen: set[tuple[str, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.document = openapi_document(self.routes)
        self._components = self.document["components"]
        self._validators: dict[str, Any] = {}
        self._operations: list[tuple[str, re.Pattern[str], str, dict[str, Any]]] = []
        for path, operations in self.document["paths"].items():
            for method, operation in operations.items():
                types = {
                    p["name"]: p["schema"].get("type")
                    for p in operation.get("parameters", ())
                    if p["in"] == "path"
                }
                pattern = re.sub(r"\{(\w+)\}", partial(_segment, types), path)
                self._operations.append((method.upper(), re.compile(pattern), path, operation))
        # A literal path wins over a template it also matches (batch, not {message_id}).
        self._operations.sort(key=lambda entry: entry[2].count("{"))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The documented operation for ``method`` on ``path``: its name and description."""
        for known, pattern, template, operation in self._operations:
            if known == method and pattern.fullmatch(path):
                return f"{method} {template}", operation
        return None

    def check(self, response: httpx.Response) -> None:
        """Raise AssertionError naming the difference when ``response`` is not as documented."""
        request = response.request
        path = request.url.path
        if path in UNDOCUMENTED or request.method == "HEAD":
            return
        found = self.operation(request.method, path)
        status = response.status_code
        if found is None:
            if status == 307 and httpx.URL(response.headers["location"]).path == path.rstrip("/"):
                return  # Starlette's redirect of a path with a trailing slash
            assert status in {401, 404, 405}, f"{request.method} {path}: {status} {response.text}"
            self._match(response, self._validator("#/components/schemas/Error"))
            return
        name, operation = found
        self.seen.add((name, status))
        answer = operation["responses"].get(str(status))
        assert answer is not None, f"{name}: status {status} is not documented: {response.text}"
        if "$ref" in answer:
            answer = self._components["responses"][answer["$ref"].rsplit("/", 1)[1]]
        ((media, content),) = answer["content"].items()
        kind = response.headers.get("content-type", "")
        assert kind.startswith(media), f"{name} {status}: {kind!r}, documented {media!r}"
        if media == "application/json":
            schema = content["schema"]
            self._match(response, self._validator(schema["$ref"]), name)

    def _validator(self, ref: str) -> Any:
        validator = self._validators.get(ref)
        if validator is None:
            root = {"$ref": ref, "components": self._components}
            validator = jsonschema_rs.Draft202012Validator(root, validate_formats=True)
            self._validators[ref] = validator
        return validator

    @staticmethod
    def _match(response: httpx.Response, validator: Any, name: str = "") -> None:
        body = json.loads(response.content)
        errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, (
            f"{name or response.request.url.path} {response.status_code} differs from the "
            f"document: {errors[:5]} in {str(body)[:500]}"
        )


def _segment(types: dict[str, Any], match: re.Match[str]) -> str:
    """The pattern of one path parameter: digits for an integer, else one segment."""
    return "[0-9]+" if types.get(match[1]) == "integer" else "[^/]+"


def checked(check: DocumentCheck) -> dict[str, list[Any]]:
    """httpx event hooks that check every answer of an AsyncClient against the document."""

    async def hook(response: httpx.Response) -> None:
        await response.aread()
        check.check(response)

    return {"response": [hook]}
