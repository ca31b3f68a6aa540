"""Untrusted JSON (events, requests, payloads) read into typed records, or one line that says what is wrong.

Every record a Lambda function or the CLI receives from outside has a ``read(fields)`` function written
out field by field with ``Fields``, so what is accepted is in plain sight and typed for mypy. ``validated``
turns the first wrong field into ``InvalidEventError("not <what>: <where>: <why>")``, never a traceback.
Unknown keys are ignored: AWS adds fields to its events, and they are not ours to refuse.

Pure: no I/O. (pydantic did this before; importing it and building the models cost every cold start
about 60% of a bare ``import boto3``: ``docs/deploy.md#cold-start``.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from core.model.errors import InvalidEventError

R = TypeVar("R")


class FieldError(ValueError):
    """One field of untrusted input is missing or of the wrong shape; ``where`` is its dotted path."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}")
        self.where, self.why = where, why


def validated(read: Callable[[Fields], R], raw: Any, what: str) -> R:
    """``raw`` read by ``read``; else ``InvalidEventError("not <what>: <where>: <why>")``."""
    try:
        return read(Fields(raw))
    except FieldError as exc:
        raise InvalidEventError(f"not {what}: {exc.where or 'event'}: {exc.why}") from None


class Fields:
    """One JSON object of untrusted input, read a field at a time.

    Each reader names the field's path in its error. ``None`` and a missing key are the same (JSON
    ``null`` is how AWS writes "not set"), except that required fields must be present and not null.
    """

    def __init__(self, raw: Any, where: str = "") -> None:
        if not isinstance(raw, Mapping):
            raise FieldError(where, f"should be an object, got {_kind(raw)}")
        self._raw: Mapping[Any, Any] = raw
        self.where = where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def value(self, key: str, *, required: bool = False) -> Any:
        """The raw value (None when absent); a required field must be present and not null."""
        value = self._raw.get(key)
        if value is None and required:
            raise FieldError(self.path(key), "field required")
        return value

    def text(self, key: str, default: str | None = None, *, pattern: re.Pattern[str] | None = None) -> str:
        """A string; required unless a default is given. ``pattern`` must match the whole of it."""
        value = self.value(key, required=default is None)
        if value is None:
            return default or ""
        if not isinstance(value, str):
            raise FieldError(self.path(key), f"should be a string, got {_kind(value)}")
        if pattern is not None and not pattern.fullmatch(value):
            raise FieldError(self.path(key), f"{_shown(value)} does not match {pattern.pattern}")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self.value(key) is None else self.text(key)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in allowed:
            raise FieldError(
                self.path(key), f"should be {' or '.join(map(repr, allowed))}, got {_shown(value)}"
            )
        return value

    def timestamp(self, key: str) -> datetime | None:
        """An ISO 8601 time (``Z`` allowed) or seconds since the epoch; kept naive if written naive."""
        value = self.value(key)
        return None if value is None else self._time(key, value)

    def required_timestamp(self, key: str) -> datetime:
        return self._time(key, self.value(key, required=True))

    def _time(self, key: str, value: Any) -> datetime:
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return datetime.fromtimestamp(value, UTC)
            if isinstance(value, str):
                return datetime.fromisoformat(value)
        except (ValueError, OverflowError, OSError):  # not a date, NaN, or beyond the platform's years
            pass
        raise FieldError(self.path(key), f"should be an ISO 8601 time, got {_shown(value)}")

    def record(self, key: str) -> Fields | None:
        """A nested object, as ``Fields`` (None when absent)."""
        value = self.value(key)
        return None if value is None else Fields(value, self.path(key))

    def required_record(self, key: str) -> Fields:
        return Fields(self.value(key, required=True), self.path(key))

    def mapping(self, key: str) -> dict[str, Any] | None:
        """A nested object kept as it is (its contents are read later, where they are used)."""
        value = self.value(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise FieldError(self.path(key), f"should be an object, got {_kind(value)}")
        return dict(value)

    def items(self, key: str, *, required: bool = False) -> list[Any]:
        value = self.value(key, required=required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise FieldError(self.path(key), f"should be a list, got {_kind(value)}")
        return value

    def texts(self, key: str, *, required: bool = False) -> list[str]:
        values = self.items(key, required=required)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise FieldError(f"{self.path(key)}.{index}", f"should be a string, got {_kind(value)}")
        return values

    def records(self, key: str, *, required: bool = False) -> list[Fields]:
        return [Fields(v, f"{self.path(key)}.{i}") for i, v in enumerate(self.items(key, required=required))]


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    if isinstance(value, Mapping):
        return "an object"
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"
