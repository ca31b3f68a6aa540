"""Untrusted input (events, requests, payloads) into typed models, or one line that says what is wrong."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import InvalidEventError

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], raw: Any, what: str) -> M:
    """``raw`` as ``model``; else ``InvalidEventError("not <what>: <where>: <why>")``, never a traceback."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "event"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InvalidEventError(f"not {what}: {where}: {first['msg']}{more}") from None
    except RecursionError:
        raise InvalidEventError(f"not {what}: nested too deeply") from None
