"""core.model.validation: untrusted JSON read field by field, each refusal naming the field's path. Pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from core.model.errors import InvalidEventError
from core.model.validation import FieldError, Fields, validated


def refusal(read: Any, raw: Any) -> str:
    with pytest.raises(FieldError) as refused:
        read(Fields(raw))
    return str(refused.value)


def test_text_required_unless_a_default_is_given_and_null_is_absent() -> None:
    f = Fields({"a": "x", "n": None})
    assert f.text("a") == "x"
    assert f.text("missing", "") == ""
    assert f.text("n", "fallback") == "fallback"
    assert refusal(lambda f: f.text("n"), {"n": None}) == "n: field required"
    assert refusal(lambda f: f.text("a"), {}) == "a: field required"


@pytest.mark.parametrize(
    ("value", "kind"), [(7, "a number"), (True, "a boolean"), ([], "a list"), ({}, "an object")]
)
def test_text_refuses_other_json_types_naming_them(value: Any, kind: str) -> None:
    assert refusal(lambda f: f.text("a"), {"a": value}) == f"a: should be a string, got {kind}"


def test_nested_paths_name_every_level() -> None:
    raw = {"detail": {"userIdentity": {"sessionContext": {"attributes": {"mfaAuthenticated": 1}}}}}

    def read(f: Fields) -> str:
        detail = f.required_record("detail")
        identity = detail.required_record("userIdentity")
        context = identity.required_record("sessionContext")
        return context.required_record("attributes").text("mfaAuthenticated")

    assert refusal(read, raw) == (
        "detail.userIdentity.sessionContext.attributes.mfaAuthenticated: should be a string, got a number"
    )


def test_lists_name_the_index_of_the_bad_item() -> None:
    assert refusal(lambda f: f.texts("ids"), {"ids": ["a", 2]}) == "ids.1: should be a string, got a number"
    assert refusal(lambda f: f.records("rs"), {"rs": [{}, "x"]}) == "rs.1: should be an object, got a string"
    assert refusal(lambda f: f.texts("ids", required=True), {}) == "ids: field required"
    assert Fields({}).texts("ids") == []


def test_choice_and_pattern_show_the_value_refused() -> None:
    assert Fields({"t": "Create"}).choice("t", ("Create", "Delete")) == "Create"
    assert refusal(lambda f: f.choice("t", ("Create", "Delete")), {"t": "Drop"}) == (
        "t: should be 'Create' or 'Delete', got 'Drop'"
    )
    digits = re.compile(r"\d{12}")
    assert Fields({"a": "123456789012"}).text("a", pattern=digits) == "123456789012"
    assert "does not match" in refusal(lambda f: f.text("a", pattern=digits), {"a": "1234567890123"})


def test_timestamps_iso_with_z_or_epoch_seconds() -> None:
    f = Fields({"z": "2026-03-02T06:00:12Z", "n": 0, "naive": "2026-03-02T06:00:12"})
    assert f.timestamp("z") == datetime(2026, 3, 2, 6, 0, 12, tzinfo=UTC)
    assert f.timestamp("n") == datetime(1970, 1, 1, tzinfo=UTC)
    assert f.timestamp("naive") == datetime(2026, 3, 2, 6, 0, 12)
    assert f.timestamp("absent") is None
    assert "should be an ISO 8601 time" in refusal(lambda f: f.timestamp("t"), {"t": "yesterday"})
    assert "should be an ISO 8601 time" in refusal(lambda f: f.timestamp("t"), {"t": True})
    assert refusal(lambda f: f.required_timestamp("t"), {}) == "t: field required"


@pytest.mark.parametrize("value", [1e20, -1e300, 10**30, float("nan"), "9999-99-99", "2026-02-30T00:00:00Z"])
def test_a_time_no_calendar_holds_is_refused_not_a_traceback(value: Any) -> None:
    assert "should be an ISO 8601 time" in refusal(lambda f: f.timestamp("t"), {"t": value})


def test_mapping_is_kept_as_is_and_unknown_keys_are_ignored() -> None:
    f = Fields({"params": {"userName": "bob", "x": [1]}, "unknown": object()})
    assert f.mapping("params") == {"userName": "bob", "x": [1]}
    assert f.mapping("absent") is None
    assert refusal(lambda f: f.mapping("p"), {"p": "x"}) == "p: should be an object, got a string"


def test_a_long_value_is_shortened_in_the_message() -> None:
    message = refusal(lambda f: f.choice("t", ("a",)), {"t": "x" * 500})
    assert len(message) < 120


def test_validated_is_one_line_invalid_input_naming_what_was_expected() -> None:
    with pytest.raises(InvalidEventError) as refused:
        validated(lambda f: f.text("id"), {"id": 7}, "a widget")
    assert str(refused.value) == "not a widget: id: should be a string, got a number"
    with pytest.raises(InvalidEventError, match=r"^not a widget: event: should be an object, got a list$"):
        validated(lambda f: f.text("id"), [], "a widget")
    assert validated(lambda f: f.text("id"), {"id": "w1"}, "a widget") == "w1"
