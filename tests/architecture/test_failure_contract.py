"""The failure contract, tested by changing AWS's answer, never the code.

Which failures are retried is declared on the error classes (core.model.errors: ``retry_in_process``,
``retry_in_lambda``). Here IAM answers in its own format (botocore Stubber) or the network fails the way
botocore reports it (a refused connection on loopback, a server that does not answer in time, a transport
failure under moto), and we watch what the adapter does: how many attempts, which error comes out, and
whether the enforcer would hand the event back to Lambda for a retry.
"""

from __future__ import annotations

import socket
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from tests.harness.answers import fail_transport, network_errors

from core.aws.gateway import Retrier
from core.aws.iam import IamGateway, default_iam_client
from core.enforce.enforcer import is_retryable
from core.model.errors import (
    AccessDeniedError,
    AwsError,
    ConcurrentModificationError,
    ConflictError,
    NotFoundError,
    ThrottledError,
    UnavailableError,
)
from demo.slack_receiver import Reply, SlackReceiver

ATTEMPTS = 4


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def stubbed_gateway() -> tuple[IamGateway, Stubber, Sleeps]:
    client = boto3.client("iam", region_name="us-east-1")
    sleeps = Sleeps()
    return IamGateway(client, retrier=Retrier(max_attempts=ATTEMPTS, sleep=sleeps)), Stubber(client), sleeps


def answer_error(stubber: Stubber, code: str, status: int) -> None:
    stubber.add_client_error(
        "add_user_to_group",
        service_error_code=code,
        service_message=f"{code} (answered)",
        http_status_code=status,
    )


def answer_ok(stubber: Stubber) -> None:
    stubber.add_response("add_user_to_group", {}, {"GroupName": "G", "UserName": "alice"})


# (IAM's error code, HTTP status, error class, retried in process, retried by Lambda)
CLIENT_ERRORS = [
    ("Throttling", 400, ThrottledError, True, True),
    ("ThrottlingException", 400, ThrottledError, True, True),
    ("ConcurrentModification", 409, ConcurrentModificationError, True, True),
    ("ServiceFailure", 500, UnavailableError, True, True),
    ("EntityAlreadyExists", 409, ConflictError, False, True),
    ("LimitExceeded", 409, ConflictError, False, True),
    ("DeleteConflict", 409, ConflictError, False, True),
    ("SomethingNewFromIam", 400, AwsError, False, True),
    ("AccessDenied", 403, AccessDeniedError, False, False),
    ("NoSuchEntity", 404, NotFoundError, False, False),
]


@pytest.mark.parametrize(("code", "status", "error", "in_process", "in_lambda"), CLIENT_ERRORS)
def test_one_failed_answer_is_retried_only_where_the_error_class_says_so(
    code: str, status: int, error: type[AwsError], in_process: bool, in_lambda: bool
) -> None:
    gateway, stubber, sleeps = stubbed_gateway()
    answer_error(stubber, code, status)
    answer_ok(stubber)

    with stubber:
        if in_process:
            gateway.add_user_to_group("G", "alice")  # the second answer (success) was fetched
            stubber.assert_no_pending_responses()
            assert len(sleeps) == 1
        else:
            with pytest.raises(error) as caught:
                gateway.add_user_to_group("G", "alice")
            assert type(caught.value) is error
            assert caught.value.code == code
            assert sleeps == []  # no second attempt: the success answer is still waiting


@pytest.mark.parametrize(("code", "status", "error", "in_process", "in_lambda"), CLIENT_ERRORS)
def test_a_failure_that_persists_is_raised_as_its_class_and_lambda_retries_what_it_declares(
    code: str, status: int, error: type[AwsError], in_process: bool, in_lambda: bool
) -> None:
    gateway, stubber, sleeps = stubbed_gateway()
    for _ in range(ATTEMPTS):
        answer_error(stubber, code, status)

    with stubber, pytest.raises(error) as caught:
        gateway.add_user_to_group("G", "alice")

    assert type(caught.value) is error
    assert str(caught.value) == f"AddUserToGroup failed: {code}: {code} (answered)"
    assert len(sleeps) == (ATTEMPTS - 1 if in_process else 0)
    assert all(seconds > 0 for seconds in sleeps)
    assert is_retryable(caught.value) is in_lambda


# --- the network ------------------------------------------------------------------------------------


@pytest.fixture
def iam_client(mock_iam: Any) -> Any:
    """The production IAM client (botocore's own retries off, so every retry is ours), on moto."""
    client = default_iam_client()
    client.create_group(GroupName="G")
    client.create_user(UserName="alice")
    return client


@pytest.mark.parametrize("name", sorted(network_errors()))
def test_a_network_failure_is_retried_and_the_call_then_succeeds(iam_client: Any, name: str) -> None:
    attempts = fail_transport(iam_client, "AddUserToGroup", network_errors()[name], network_errors()[name])
    sleeps = Sleeps()
    gateway = IamGateway(iam_client, retrier=Retrier(max_attempts=ATTEMPTS, sleep=sleeps))

    gateway.add_user_to_group("G", "alice")

    assert attempts == [3]
    assert len(sleeps) == 2
    assert [u["UserName"] for u in iam_client.get_group(GroupName="G")["Users"]] == ["alice"]


def test_every_kind_of_network_failure_in_a_row_is_retried(iam_client: Any) -> None:
    attempts = fail_transport(iam_client, "AddUserToGroup", *network_errors().values())
    sleeps = Sleeps()
    gateway = IamGateway(iam_client, retrier=Retrier(max_attempts=ATTEMPTS, sleep=sleeps))

    gateway.add_user_to_group("G", "alice")

    assert attempts == [ATTEMPTS]
    assert len(sleeps) == ATTEMPTS - 1


def closed_port() -> int:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def client_at(endpoint: str, **config: Any) -> Any:
    settings = Config(retries={"total_max_attempts": 1}, **config)  # as default_iam_client: ours retry
    return boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint, config=settings)


def test_a_refused_connection_is_retried_then_lambda_retries_the_event() -> None:
    sleeps = Sleeps()
    gateway = IamGateway(
        client_at(f"http://127.0.0.1:{closed_port()}"), retrier=Retrier(max_attempts=ATTEMPTS, sleep=sleeps)
    )

    with pytest.raises(UnavailableError, match="GetUser failed: EndpointConnectionError") as caught:
        gateway.get_user("alice")

    assert len(sleeps) == ATTEMPTS - 1
    assert is_retryable(caught.value)


def test_a_server_that_does_not_answer_in_time_is_retried_then_lambda_retries_the_event(
    receiver: SlackReceiver,
) -> None:
    receiver.script(*[Reply(200, delay=1.0)] * 3)
    sleeps = Sleeps()
    client = client_at(receiver.base_url, read_timeout=0.2, connect_timeout=1)
    gateway = IamGateway(client, retrier=Retrier(max_attempts=3, sleep=sleeps))

    with pytest.raises(UnavailableError, match="GetUser failed: ReadTimeoutError") as caught:
        gateway.get_user("alice")

    assert len(receiver.received()) == 3  # every attempt reached the server
    assert len(sleeps) == 2
    assert is_retryable(caught.value)


# --- the errors themselves -------------------------------------------------------------------------


def test_conflicts_and_concurrent_modification_stay_conflicts_for_the_guardrail_race_loop() -> None:
    assert issubclass(ConcurrentModificationError, ConflictError)
    assert ConflictError.retry_in_lambda
    assert ConcurrentModificationError.retry_in_process
    assert not ConflictError.retry_in_process


def test_bad_input_and_delivery_failures_are_never_retried() -> None:
    from core.model.errors import DeliveryError, InvalidEventError, SettingsError

    for error in (SettingsError("x"), InvalidEventError("x"), DeliveryError("x")):
        assert not error.retry_in_process
        assert not is_retryable(error)
