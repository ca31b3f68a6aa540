"""The enforcer's two tables held to the rules that feed it and to the commands it can produce.

``core.enforce.routes.ROUTES`` must be exactly what EventBridge delivers: the main rule
(``<stack>_enforcer-events``) plus the watch rules of the single-account template, and the spoke's
``IAMGuardForward`` forwards exactly the main rule's events. ``core.enforce.enforcer.ACTIONS`` must have
one action for every command a parser can return.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from tests.organizations.spoke_model import load_spoke
from tests.template.template_model import condition_holds, load_template, resolve

from core.enforce.commands import Command
from core.enforce.enforcer import ACTIONS
from core.enforce.routes import ROUTES, EventKey, Route
from core.model.naming import FORWARD_GUARDDUTY_RULE, FORWARD_HEALTH_RULE, FORWARD_RULE


def delivered(pattern: Mapping[str, Any]) -> set[EventKey]:
    """The (source, detail-type, event name) keys an event pattern matches. GuardDuty findings are keyed
    by their type, or the type prefix the rule matches (``{"prefix": ...}``)."""
    detail = pattern["detail"]
    # API calls | AWS Health events | GuardDuty findings
    names = detail.get("eventName") or detail.get("eventTypeCode") or detail.get("type") or []
    names = [n["prefix"] if isinstance(n, Mapping) else n for n in names]
    return {
        (source, detail_type, name)
        for source in pattern["source"]
        for detail_type in pattern["detail-type"]
        for name in names
    }


def enforcer_rules(parameters: dict[str, str] | None = None) -> dict[str, Mapping[str, Any]]:
    """The rules that deliver to the enforcer with these parameters: the function's own (always there)
    and the stack's conditional rules targeting it (``GuardDutyFindingRule``: GuardDutyFindings=true)."""
    resources = load_template()["Resources"]
    events = resources["EnforcerFunction"]["Properties"]["Events"]
    rules = {name: event["Properties"]["Pattern"] for name, event in events.items()}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        targets = resource["Properties"].get("Targets", [])
        if not any(t["Arn"] == {"Fn::GetAtt": ["EnforcerFunction", "Arn"]} for t in targets):
            continue
        if "Condition" in resource and not condition_holds(resource["Condition"], parameters):
            continue
        pattern = resolve(resource["Properties"]["EventPattern"], parameters)
        rules[name] = json.loads(pattern) if isinstance(pattern, str) else pattern
    return rules


GUARDDUTY_ON = {"GuardDutyFindings": "true"}


def mismatch(
    rules: Iterable[Mapping[str, Any]], routes: Mapping[EventKey, Route]
) -> dict[str, set[EventKey]]:
    keys: set[EventKey] = set().union(*(delivered(pattern) for pattern in rules))
    wrong_source = {
        key
        for pattern in rules
        for key in delivered(pattern)
        if key in routes
        and "eventSource" in pattern["detail"]
        and routes[key].event_source not in pattern["detail"]["eventSource"]
    }
    return {
        "delivered but not routed": keys - set(routes),
        "routed but never delivered": set(routes) - keys,
        "routed with another eventSource": wrong_source,
    }


NOTHING_WRONG: dict[str, set[EventKey]] = {
    "delivered but not routed": set(),
    "routed but never delivered": set(),
    "routed with another eventSource": set(),
}


def test_the_enforcer_rules_deliver_exactly_the_routed_events() -> None:
    # With every optional rule on: each route has its rule.
    assert mismatch(enforcer_rules(GUARDDUTY_ON).values(), ROUTES) == NOTHING_WRONG


def test_with_guardduty_findings_off_only_the_guardduty_routes_go_undelivered() -> None:
    found = mismatch(enforcer_rules({"GuardDutyFindings": "false"}).values(), ROUTES)

    assert found["delivered but not routed"] == set()
    assert found["routed but never delivered"] == {key for key in ROUTES if key[0] == "aws.guardduty"}
    assert found["routed but never delivered"]


def test_the_spoke_forwards_exactly_the_main_rules_events() -> None:
    forward = next(
        r["Properties"]["EventPattern"]
        for r in load_spoke()["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"].get("Name") == FORWARD_RULE
    )

    assert delivered(forward) == delivered(enforcer_rules()["IamApiCall"])
    assert forward["detail"]["eventSource"] == enforcer_rules()["IamApiCall"]["detail"]["eventSource"]


def test_the_spoke_forwards_exactly_the_health_events_the_enforcer_routes() -> None:
    forward = next(
        r["Properties"]["EventPattern"]
        for r in load_spoke()["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"].get("Name") == FORWARD_HEALTH_RULE
    )
    routed = {key for key in ROUTES if key[0] == "aws.health"}

    assert routed
    assert delivered(forward) == routed


def test_the_spoke_forwards_exactly_the_guardduty_findings_the_enforcer_routes_with_them_on() -> None:
    from tests.organizations.spoke_model import resolve as resolve_spoke

    (rule,) = [
        r
        for r in load_spoke()["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"].get("Name") == FORWARD_GUARDDUTY_RULE
    ]
    forward = json.loads(resolve_spoke(rule["Properties"]["EventPattern"], GUARDDUTY_ON))
    routed = {key for key in ROUTES if key[0] == "aws.guardduty"}

    assert rule["Condition"] == "GuardDutyOn"  # the spoke's GuardDutyFindings=false: no such rule
    assert routed
    assert delivered(forward) == routed
    assert forward == enforcer_rules(GUARDDUTY_ON)["GuardDutyFindingRule"]  # severity, user type included


def test_the_check_sees_a_route_without_a_rule_and_a_rule_without_a_route() -> None:
    planted = dict(ROUTES)
    extra: EventKey = ("aws.health", "AWS Health Event", "AWS_RISK_NOT_A_CODE")
    planted[extra] = next(iter(ROUTES.values()))
    missing = next(iter(ROUTES))
    del planted[missing]

    found = mismatch(enforcer_rules(GUARDDUTY_ON).values(), planted)

    assert found["routed but never delivered"] == {extra}
    assert found["delivered but not routed"] == {missing}


def test_every_command_has_exactly_one_action() -> None:
    assert set(ACTIONS) == set(typing.get_args(Command))
