"""The one client factory (core.aws.clients): timeouts, one retry layer, where clients point, and
configuration errors as one line. Against loopback only (a closed port, moto in-process)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from core.aws import clients
from core.aws.assume import RoleAssumer, RoleCredentials
from core.aws.cloudformation import default_cloudformation_client
from core.aws.gateway import Retrier
from core.aws.iam import IamGateway, default_iam_client
from core.aws.infrastructure import InfrastructureGateway
from core.aws.organizations import default_organizations_client
from core.aws.securityhub import default_securityhub_client
from core.aws.sts import caller_account_id, default_sts_client
from core.model.errors import SettingsError, UnavailableError
from core.org.summary import default_s3_client
from core.report.sns import SnsSink, default_sns_client


@pytest.fixture(autouse=True)
def unconfigured() -> Iterator[None]:
    clients.configure(clients.Connection())
    clients.forget_default_session()
    yield
    clients.configure(clients.Connection())
    clients.forget_default_session()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


FACTORIES = {
    "iam": default_iam_client,
    "sts": default_sts_client,
    "sns": default_sns_client,
    "cloudformation": default_cloudformation_client,
    "organizations": default_organizations_client,
    "securityhub": default_securityhub_client,
    "s3": default_s3_client,
    "events": lambda: InfrastructureGateway()._factory("events"),
    "lambda": lambda: InfrastructureGateway()._factory("lambda"),
}


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_every_default_client_has_the_timeouts_and_no_retries_of_its_own(service: str) -> None:
    client = FACTORIES[service]()

    assert client.meta.service_model.service_name == service
    assert client.meta.config.connect_timeout == 5
    assert client.meta.config.read_timeout == 20
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_a_member_accounts_client_has_them_too_and_the_assumed_credentials() -> None:
    # what RoleAssumer's per-account clients are made with (from its one session)
    assumer = RoleAssumer(clients.new_session())
    credentials = RoleCredentials("ASIAEXAMPLE", "secret", "token")

    client = clients.client("iam", session=assumer.session, region="us-east-1", credentials=credentials)

    assert client.meta.config.read_timeout == 20
    assert client.meta.config.retries["total_max_attempts"] == 1
    assert client._request_signer._credentials.access_key == "ASIAEXAMPLE"


def test_the_read_timeout_and_endpoint_are_the_configured_ones() -> None:
    clients.configure(clients.Connection(endpoint_url="http://127.0.0.1:9", read_timeout=3))

    client = default_iam_client()

    assert client.meta.config.read_timeout == 3
    assert client.meta.endpoint_url == "http://127.0.0.1:9"


def test_iam_and_the_stack_stay_in_us_east_1_and_only_regional_services_follow_the_region() -> None:
    clients.configure(clients.Connection(region="eu-west-1"))

    assert default_iam_client().meta.region_name in {"us-east-1", "aws-global"}  # IAM's global endpoint
    assert default_sts_client().meta.region_name == "us-east-1"
    assert default_cloudformation_client().meta.region_name == "us-east-1"
    assert default_securityhub_client().meta.region_name == "eu-west-1"


def test_an_sns_topic_is_reached_in_its_own_region() -> None:
    clients.configure(clients.Connection(region="eu-west-1"))

    sink = SnsSink("arn:aws:sns:ap-northeast-1:123456789012:alerts")

    assert sink.client.meta.region_name == "ap-northeast-1"


def test_an_unknown_profile_is_one_settings_error_line() -> None:
    clients.configure(clients.Connection(profile="no-such-profile"))

    with pytest.raises(SettingsError, match="no-such-profile") as caught:
        default_iam_client()

    assert "\n" not in str(caught.value)


def test_an_unknown_profile_from_the_environment_is_one_line_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nosuch")

    with pytest.raises(SettingsError, match="nosuch"):
        default_sts_client()


def test_the_default_session_is_shared_by_the_clients_it_makes() -> None:
    assert clients.default_session() is clients.default_session()


def http_attempts(client: Any) -> list[int]:
    seen = [0]

    def count(**_: Any) -> None:
        seen[0] += 1

    client.meta.events.register("before-send", count)
    return seen


@pytest.mark.parametrize("make", [default_iam_client, default_sts_client], ids=["iam", "sts"])
def test_a_refused_call_is_attempted_only_as_often_as_the_one_retrier_says(make: Any) -> None:
    clients.configure(clients.Connection(endpoint_url=f"http://127.0.0.1:{closed_port()}"))
    client = make()
    attempts = http_attempts(client)
    retrier = Retrier(max_attempts=3, sleep=lambda _: None)

    def call() -> None:
        if client.meta.service_model.service_name == "sts":
            caller_account_id(client, retrier=retrier)
        else:
            IamGateway(client, retrier=retrier).get_user("alice")

    with pytest.raises(UnavailableError, match="EndpointConnectionError"):
        call()

    assert attempts == [3]  # not 3 x botocore's own attempts
