"""`sam deploy --guided` asks the template's parameters in the order of its Parameters section, and the
console shows them by Metadata's ParameterGroups: both start with what a newcomer must decide, keep the
Organizations parameters last, and agree with each other (issue 22)."""

from __future__ import annotations

import re
from typing import Any

from tests.template.template_model import load_template

# What a first deploy decides (the README's first `sam deploy` gives the first four).
ESSENTIAL = ("AllowedCIDRs", "ExemptUsers", "AlertEmail", "DryRun", "MfaMode", "CreateTrail")


def _parameters() -> list[str]:
    return list(load_template()["Parameters"])


def _groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = load_template()["Metadata"]["AWS::CloudFormation::Interface"][
        "ParameterGroups"
    ]
    return groups


def test_the_guided_deploy_asks_the_essential_parameters_first() -> None:
    assert tuple(_parameters()[: len(ESSENTIAL)]) == ESSENTIAL


def test_the_first_parameter_group_is_the_essentials() -> None:
    first = _groups()[0]
    assert tuple(first["Parameters"]) == ESSENTIAL
    assert "essential" in first["Label"]["default"].lower()


def test_organizations_parameters_come_last_and_together() -> None:
    names = _parameters()
    org = [i for i, name in enumerate(names) if name.startswith("Org")]
    assert org, "no Organizations parameter found"
    assert org == list(range(len(names) - len(org), len(names))), (
        f"the Org* parameters must be the last block of Parameters, found at {org} of {len(names)}"
    )
    assert _groups()[-1]["Label"]["default"].startswith("Organizations")


def test_every_parameter_is_in_one_group_and_the_groups_follow_the_parameters_order() -> None:
    grouped = [name for group in _groups() for name in group["Parameters"]]
    names = _parameters()
    ungrouped = sorted(set(names) - set(grouped))
    assert not ungrouped, f"add these parameters to a ParameterGroup in template.yaml: {ungrouped}"
    assert len(grouped) == len(set(grouped)), "a parameter is in two ParameterGroups"
    assert not set(grouped) - set(names), "a ParameterGroup names a parameter that does not exist"
    assert grouped == names, (
        "order the Parameters section as the ParameterGroups list them (the guided deploy follows the "
        "Parameters order, the console the groups')"
    )


# A sentence ends at . ! or ? followed by a space and a capital letter (a second sentence starts there);
# "e.g. 203..." or "CIS 1.12" do not end one.
_SENTENCE_END = re.compile(r"[.!?]\s+[A-Z]")


def test_every_description_is_one_sentence() -> None:
    long = {}
    for name, spec in load_template()["Parameters"].items():
        text = " ".join(spec["Description"].split())
        if _SENTENCE_END.search(text) or not text.endswith("."):
            long[name] = text
    assert long == {}, "each parameter's Description: one sentence ending in a period"


def test_the_sentence_rule_catches_a_second_sentence() -> None:
    assert _SENTENCE_END.search("Networks users may call from. Requests from elsewhere are denied.")
    assert not _SENTENCE_END.search("Comma-separated CIDRs, e.g. 203.0.113.0/24 (CIS 1.12 says 45).")
