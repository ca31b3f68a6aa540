"""SSH public keys, signing certificates and service-specific credentials are handled like an access key:
a user outside the secured group is enrolled; a user already in it is left alone; an exempt user raises a
medium ``exempt-user-credential`` alert. Sample events in events/, CloudTrail's shapes (secrets redacted)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.enforce.conftest import GROUP, Harness, sample

from core.enforce.events import HANDLED_EVENTS, OTHER_CREDENTIAL_EVENTS, parse_event
from core.enforce.routes import command_for
from core.model.alerts import AlertKind, Severity

SAMPLES = {
    "UploadSSHPublicKey": ("upload-ssh-public-key", "sSHPublicKey", "an SSH public key"),
    "UploadSigningCertificate": ("upload-signing-certificate", "certificate", "a signing certificate"),
    "CreateServiceSpecificCredential": (
        "create-service-specific-credential",
        "serviceSpecificCredential",
        "a service-specific credential",
    ),
    "ResetServiceSpecificCredential": (
        "reset-service-specific-credential",
        "serviceSpecificCredential",
        "a new service-specific credential password",
    ),
}
EVENTS = sorted(SAMPLES)


def test_the_four_events_are_handled() -> None:
    assert set(SAMPLES) == OTHER_CREDENTIAL_EVENTS
    assert OTHER_CREDENTIAL_EVENTS <= HANDLED_EVENTS  # and so in the template's rule (tests/template)


@pytest.mark.parametrize("event", EVENTS)
def test_a_user_outside_the_group_is_enrolled(deployed: Harness, event: str) -> None:
    deployed.create_user("dev-bob")

    result = deployed.run(sample(SAMPLES[event][0]))

    assert result.action == "enrolled"
    assert deployed.groups_of("dev-bob") == [GROUP]
    assert [(a.kind, a.severity) for a in deployed.sink.alerts] == [
        (AlertKind.USER_ENROLLED, Severity.MEDIUM)
    ]


@pytest.mark.parametrize("event", EVENTS)
def test_a_member_is_left_alone(deployed: Harness, event: str) -> None:
    deployed.create_user("dev-bob", enrolled=True)

    result = deployed.run(sample(SAMPLES[event][0]))

    assert result.action == "already-enrolled"
    assert deployed.sink.alerts == []


@pytest.mark.parametrize("event", EVENTS)
def test_an_exempt_user_raises_a_medium_alert_naming_the_credential(deployed: Harness, event: str) -> None:
    deployed.create_user("dev-bob", {"iam-guard:exempt": "true"})

    result = deployed.run(sample(SAMPLES[event][0]))

    assert result.action == "exempt"
    (alert,) = result.alerts
    assert (alert.kind, alert.severity) == (AlertKind.EXEMPT_USER_CREDENTIAL, Severity.MEDIUM)
    assert SAMPLES[event][2] in alert.summary
    assert "HIDDEN_DUE_TO_SECURITY_REASONS" not in alert.summary
    assert GROUP not in deployed.groups_of("dev-bob")


@pytest.mark.parametrize("event", EVENTS)
def test_self_service_names_the_user_from_the_response(deployed: Harness, event: str) -> None:
    name, field, _ = SAMPLES[event]
    raw: dict[str, Any] = copy.deepcopy(sample(name))
    raw["detail"]["requestParameters"].pop("userName")
    raw["detail"]["responseElements"][field]["userName"] = "dev-dave"
    deployed.create_user("dev-dave")

    assert deployed.run(raw).action == "enrolled"
    assert deployed.groups_of("dev-dave") == [GROUP]


@pytest.mark.parametrize("event", EVENTS)
def test_the_user_comes_from_request_parameters(event: str) -> None:
    from tests.enforce.conftest import make_settings

    command = command_for(parse_event(sample(SAMPLES[event][0])), make_settings())
    assert getattr(command, "user_name", None) == "dev-bob"


def test_the_root_users_own_signing_certificate_is_ignored() -> None:
    from tests.enforce.conftest import make_settings

    from core.enforce.commands import Ignore

    raw = sample("upload-signing-certificate")
    raw["detail"]["requestParameters"].pop("userName")
    raw["detail"]["responseElements"]["certificate"].pop("userName")
    raw["detail"]["userIdentity"] = {
        "type": "Root",
        "principalId": "123456789012",
        "arn": "arn:aws:iam::123456789012:root",
        "accountId": "123456789012",
    }

    assert isinstance(command_for(parse_event(raw), make_settings()), Ignore)
