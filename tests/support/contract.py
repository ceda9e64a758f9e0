"""Check a REST response against the OpenAPI document the server serves, and a Socket.IO
event or acknowledgement against its definition in chatkit.wire.

`check(method, path, status, body, headers)` finds the operation for (method, concrete path),
insists that `status` is one the document lists for it, and validates the body (and required
headers) against that response's schema with jsonschema. A path or method the document does
not describe must still answer with the Error shape. The tests' REST client (tests/support/
api.py) runs this on every reply, so every response the suite sees is held to the document.
`check_event` and `check_ack` do the same for what the tests' socket clients (tests/support/
sockets.py) receive.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from chatkit import wire
from chatkit.server.http.openapi import document

BASE_URI = "urn:chatkit:openapi"
JSON = "application/json"


class ContractViolation(AssertionError):
    pass


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: dict[str, Any]
    pointer: str  # JSON pointer of the operation inside the document


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class Contract:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.document = doc
        self._registry: Registry[Any] = Registry().with_resource(
            BASE_URI, DRAFT202012.create_resource(doc)
        )
        self._templates: list[tuple[re.Pattern[str], str, int]] = []
        for template in doc["paths"]:
            pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
            self._templates.append((re.compile(f"^{pattern}$"), template, template.count("{")))
        # Literal paths first: /api/conversations/by-session before /api/conversations/{id}.
        self._templates.sort(key=lambda item: item[2])

    def operation(self, method: str, path: str) -> Operation | None:
        path = urlsplit(path).path
        method = method.lower()
        for pattern, template, _ in self._templates:
            item = self.document["paths"][template]
            if pattern.match(path) and method in item:
                pointer = f"/paths/{_escape(template)}/{method}"
                return Operation(method, template, item[method], pointer)
        return None

    def validator(self, pointer: str) -> jsonschema.protocols.Validator:
        return _validator(self, pointer)

    def check(
        self, method: str, path: str, status: int, body: Any, headers: dict[str, str]
    ) -> Operation | None:
        """Raise ContractViolation unless the response is one the document describes."""
        where = f"{method.upper()} {path} → {status}"
        if method.upper() == "OPTIONS":
            # CORS preflights are answered by the CORS layer for every path, not by operations.
            if body is not None:
                raise ContractViolation(f"{where}: a preflight answered with a body")
            return None
        operation = self.operation(method, path)
        if operation is None:
            # Not an operation of the API (no route, or a method it does not allow): an error.
            if status < 400:
                raise ContractViolation(f"{where}: undocumented operation answered {status}")
            media = _header(headers, "Content-Type")
            if media is not None and not media.startswith(JSON):
                raise ContractViolation(f"{where}: an error as {media}")
            self._validate("/components/schemas/Error", body, where)
            return None
        responses = operation.spec["responses"]
        if str(status) not in responses:
            raise ContractViolation(
                f"{where}: status not documented for {operation.method.upper()} "
                f"{operation.template} (documented: {', '.join(responses)})"
            )
        response = responses[str(status)]
        pointer = f"{operation.pointer}/responses/{status}"
        for name, header in response.get("headers", {}).items():
            value = _header(headers, name)
            if value is None:
                if header.get("required"):
                    raise ContractViolation(f"{where}: required header {name} is missing")
                continue
            self._validate(f"{pointer}/headers/{_escape(name)}/schema", value, f"{where} {name}")
        content = response.get("content", {})
        media = (_header(headers, "Content-Type") or "").split(";")[0].strip() or None
        if not content:
            if body is not None:
                raise ContractViolation(f"{where}: a body where the document says none")
        elif media not in content:
            raise ContractViolation(f"{where}: Content-Type {media} is not documented")
        elif media == JSON:
            self._validate(f"{pointer}/content/{_escape(JSON)}/schema", body, where)
        return operation

    def _validate(self, pointer: str, instance: Any, where: str) -> None:
        _require(self.validator(pointer), instance, where, pointer)


def _require(
    validator: jsonschema.protocols.Validator, instance: Any, where: str, schema: str
) -> None:
    """Raise ContractViolation, with the first few reasons, unless `instance` is valid."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: e.path)
    if errors:
        details = "; ".join(
            f"at {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in errors[:5]
        )
        raise ContractViolation(f"{where}: does not match {schema}: {details}")


@functools.cache
def _validator(contract: Contract, pointer: str) -> jsonschema.protocols.Validator:
    validator_class = jsonschema.Draft202012Validator
    return validator_class(
        {"$ref": f"{BASE_URI}#{pointer}"},
        registry=contract._registry,
        format_checker=validator_class.FORMAT_CHECKER,
    )


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


@functools.cache
def contract() -> Contract:
    """The contract for the document this checkout's server serves (built once per run)."""
    return Contract(document())


# --- Socket.IO: events and acknowledgements, held to their one definition in chatkit.wire ----


def check_event(event: str, payload: Any) -> None:
    """Raise ContractViolation unless `payload` is what chatkit.wire defines for `event`."""
    kind = wire.SERVER_EVENTS.get(event)
    if kind is None:
        raise ContractViolation(f"{event}: not an event chatkit.wire defines")
    _check_wire(kind, payload, f"event {event}")


def check_ack(event: str, reply: Any) -> None:
    """Raise ContractViolation unless `reply` is an acknowledgement chatkit.wire defines: an
    AckError, or the answer of `event` (Synced, Reauthed, else Acked)."""
    ok = isinstance(reply, dict) and reply.get("ok") is True
    kind = _ANSWERS.get(event, wire.Acked) if ok else wire.AckError
    _check_wire(kind, reply, f"ack of {event}")


_ANSWERS: dict[str, type[Any]] = {"sync": wire.Synced, "reauth": wire.Reauthed}


def _check_wire(kind: type[Any], instance: Any, where: str) -> None:
    _require(_wire_validator(kind), instance, where, f"wire.{kind.__name__}")


@functools.cache
def _wire_validator(kind: type[Any]) -> jsonschema.protocols.Validator:
    """Closed, as the OpenAPI response schemas are: every key the renderer makes, no other."""
    schema = _closed(wire.schema(kind, ref_template="#/$defs/{model}"))
    validator_class = jsonschema.Draft202012Validator
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def _closed(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if "properties" in closed:
        closed["additionalProperties"] = False
    return closed
