"""``Skipped.outcome`` is an enum now; every output must read exactly as it did with strings."""

from __future__ import annotations

import json

import pytest

from toolsfix.findings import Outcome, Report, Skipped
from toolsfix.report.junit import JunitRenderer
from toolsfix.report.text import TextRenderer


def test_strings_and_enum_members_make_the_same_skip() -> None:
    by_str = Skipped("TF300", "why", "not-applicable")
    by_enum = Skipped("TF300", "why", Outcome.NOT_APPLICABLE)
    assert by_str == by_enum and hash(by_str) == hash(by_enum)
    assert by_str.outcome is Outcome.NOT_APPLICABLE
    assert Skipped("TF300", "why").outcome is Outcome.NOT_EVALUATED


def test_outcome_still_compares_and_hashes_as_its_string() -> None:
    s = Skipped("TF314", "why", "not-applicable")
    assert s.outcome == "not-applicable"
    assert {s.outcome} == {"not-applicable"}
    assert {s.check: s.outcome} == {"TF314": "not-applicable"}


def test_json_is_byte_identical_to_the_string_form() -> None:
    d = Skipped("TF313", "the active MTU is a runtime fact", "not-evaluated").to_dict()
    assert type(d["outcome"]) is str
    expected = (
        '{"check": "TF313", "outcome": "not-evaluated", '
        '"reason": "the active MTU is a runtime fact"}'
    )
    assert json.dumps(d) == expected


def test_renderers_show_the_value_not_the_member_name() -> None:
    report = Report("verify", "t", skipped=(Skipped("TF320", "no ipadm", "not-applicable"),))
    assert "TF320 [not-applicable] no ipadm" in TextRenderer().render(report)
    assert 'message="not-applicable: no ipadm"' in JunitRenderer().render(report)
    assert f"{Outcome.NOT_EVALUATED}" == str(Outcome.NOT_EVALUATED) == "not-evaluated"


def test_a_misspelt_outcome_fails_where_it_is_made() -> None:
    with pytest.raises(ValueError):
        Skipped("TF300", "why", "not-applicabel")
