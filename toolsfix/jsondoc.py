"""Reading JSON documents toolsfix did not write itself: one line for every defect.

A database directory (fingerprints, proofs on record) is a place anyone with write access to
it can drop a file, so its documents are validated field by field by hand (no jsonschema
dependency on a stock Solaris Python), and every defect -- not JSON, not UTF-8, nested too
deep, the wrong schema, a field of the wrong type -- becomes one message naming the file and
the field. :func:`document_items` reads a document's envelope; the ``field`` helpers read one
record, raising :class:`FieldError` whose message is ``<field>: <what is wrong>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from toolsfix.errors import InputError

__all__ = [
    "FieldError",
    "document_items",
    "field",
    "sha256_field",
    "str_list_field",
]

_SHA_RE = re.compile(r"[0-9a-f]{64}")


class FieldError(Exception):
    """A field of one record is missing or of the wrong kind (message: field and why)."""


def field(d: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *,
          nullable: bool = False, required: bool = True) -> Any:  # fmt: skip
    """``d[key]`` when it is of ``kind`` (None when ``nullable`` and null, or when absent and
    not ``required``). A boolean is never accepted where a number is expected."""
    if key not in d:
        if required:
            raise FieldError(f"{key}: missing")
        return None
    value = d[key]
    if value is None and nullable:
        return None
    # bool is an int subclass: never accept it where a number is expected
    if isinstance(value, bool) and kind is not bool:
        raise FieldError(f"{key}: expected {_kind_name(kind)}, got a boolean")
    if not isinstance(value, kind):
        raise FieldError(f"{key}: expected {_kind_name(kind)}, got {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return {"str": "string", "int": "integer", "bool": "boolean", "list": "array",
            "dict": "object"}.get(kind.__name__, kind.__name__)  # fmt: skip


def sha256_field(d: Mapping[str, Any], key: str, *, nullable: bool = False) -> Optional[str]:
    """A sha256 in lower-case hex."""
    value = field(d, key, str, nullable=nullable)
    if value is not None and not _SHA_RE.fullmatch(value):
        raise FieldError(f"{key}: expected 64 lower-case hex digits, got {value!r}")
    return value  # type: ignore[no-any-return]


def str_list_field(d: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """An array of strings."""
    items = field(d, key, list)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise FieldError(f"{key}[{i}]: expected string, got {type(item).__name__}")
    return tuple(items)


def document_items(path: Path, data: bytes, schema: str, what: str) -> list[Any]:
    """The ``records`` array of a ``{"schema": schema, "records": [...]}`` document's bytes,
    records not yet validated; ``what`` names the kind of file in the messages."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: not a {what} (JSON nested too deeply)") from None
    if not isinstance(raw, dict) or raw.get("schema") != schema:
        found = raw.get("schema") if isinstance(raw, dict) else type(raw).__name__
        raise InputError(f"{path}: not a {what} (schema {found!r}, need {schema!r})")
    items = raw.get("records")
    if not isinstance(items, list):
        raise InputError(f"{path}: 'records' must be an array")
    return items
