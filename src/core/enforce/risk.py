"""Leaked-credential events: AWS Health's RISK events and AWS's quarantine policy. Pure: no I/O, no clock.

AWS Health tells an account that one of its access keys was found in public (``source: aws.health``,
``detail-type: AWS Health Event``, ``detail.service: RISK``) and attaches an
``AWSCompromisedKeyQuarantine*`` policy to the key's user, but leaves the key Active. The enforcer's
routes (``core.enforce.routes``) turn such an event into a ``LeakedKeyReported`` command, and
``core.enforce.leak`` responds. The EventBridge patterns the template uses are built here
(``health_rule_pattern``, ``quarantine_rule_pattern``) so the tests hold the template to the code.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from core.model.naming import EXPOSED_KEYS_TAG as EXPOSED_KEYS_TAG  # noqa: PLC0414 - re-exported
from core.model.naming import is_aws_quarantine_policy
from core.model.validation import Fields

HEALTH_SOURCE = "aws.health"
HEALTH_DETAIL_TYPE = "AWS Health Event"
RISK_SERVICE = "RISK"
# Every code a leaked key has arrived as. Real leaks have come as AWS_RISK_IAM_QUARANTINE, not
# ..._CREDENTIALS_EXPOSED: a rule on one code never fired (aws/aws-health-tools issue 93).
RISK_EVENT_CODES: tuple[str, ...] = (
    "AWS_RISK_CREDENTIALS_EXPOSED",
    "AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED",
    "AWS_RISK_CREDENTIALS_COMPROMISED",
    "AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED",
    "AWS_RISK_IAM_QUARANTINE",
)

# An access key ID: AKIA (long-term, an IAM user's or root's) or ASIA (a session), 16 more characters.
ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
QUARANTINE_POLICY_PREFIX = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine"
# The inline policy that denies a user's sessions issued before a time (see revoke_sessions_policy).
REVOKE_SESSIONS_POLICY = "iam-guard-revoke-sessions"
# EXPOSED_KEYS_TAG (core.model.naming): the user's leaked keys, space-separated (tag values allow no comma).


def is_access_key_id(value: str) -> bool:
    return bool(ACCESS_KEY_ID.match(value))


def is_long_term_key(value: str) -> bool:
    return value.startswith("AKIA") and is_access_key_id(value)


def is_quarantine_policy(arn: str) -> bool:
    """``arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine``, any version (V2, V3, V4 ...)."""
    return is_aws_quarantine_policy(arn)


class HealthDetail(NamedTuple):
    """The ``detail`` of an AWS Health event (only the fields the responder reads)."""

    service: str
    event_type_code: str
    event_arn: str = ""
    entity_values: tuple[str, ...] = ()  # detail.affectedEntities[].entityValue

    @classmethod
    def read(cls, f: Fields) -> HealthDetail:
        entities = [entity.text("entityValue", "") for entity in f.records("affectedEntities")]
        return cls(
            service=f.text("service", ""),
            event_type_code=f.text("eventTypeCode", ""),
            event_arn=f.text("eventArn", ""),
            entity_values=tuple(e.strip() for e in entities if e.strip()),
        )


def named_keys(
    entity_values: tuple[str, ...], resources: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The access key IDs an event names (entities first, then ``resources``, each once), and the
    values that are not key IDs (reported, never acted on)."""
    keys: dict[str, None] = {}
    other: dict[str, None] = {}
    for value in (*entity_values, *resources):
        (keys if is_access_key_id(value) else other)[value] = None
    return tuple(keys), tuple(v for v in other if v not in keys)


def revoke_sessions_policy(issued_before: str) -> dict[str, Any]:
    """Deny everything to the user's sessions issued before ``issued_before`` (ISO 8601, UTC).

    ``aws:TokenIssueTime`` is present only in requests signed with temporary credentials, so this never
    stops a long-term key (deactivated separately) and leaves sessions issued afterwards alone.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RevokeOlderSessions",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": issued_before}},
            }
        ],
    }


def exposed_keys_in(tag_value: str) -> tuple[str, ...]:
    return tuple(k for k in tag_value.split() if is_access_key_id(k))


def with_exposed_key(tag_value: str, key: str) -> str:
    keys = dict.fromkeys(exposed_keys_in(tag_value))
    keys[key] = None
    return " ".join(keys)


def health_rule_pattern() -> dict[str, Any]:
    """The EventBridge pattern of the enforcer's Health rule (template.yaml ``HealthRisk``)."""
    return {
        "source": [HEALTH_SOURCE],
        "detail-type": [HEALTH_DETAIL_TYPE],
        "detail": {"service": [RISK_SERVICE], "eventTypeCode": list(RISK_EVENT_CODES)},
    }


def quarantine_rule_pattern() -> dict[str, Any]:
    """The pattern of the rule on detaching AWS's quarantine policy (template.yaml ``QuarantineDetached``)."""
    return {
        "source": ["aws.iam"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["iam.amazonaws.com"],
            "eventName": ["DetachUserPolicy"],
            "errorCode": [{"exists": False}],
            "requestParameters": {"policyArn": [{"prefix": QUARANTINE_POLICY_PREFIX}]},
        },
    }
