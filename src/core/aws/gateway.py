"""Shared AWS plumbing for the adapters: error translation, retries, call counting, the gateway base.

Error codes are translated here, once, into ``core.model.errors``; nothing else inspects botocore exceptions.
Which of those errors are retried is declared on the error classes (``retry_in_process``), not here.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from core.model.errors import (
    AccessDeniedError,
    AwsError,
    ConcurrentModificationError,
    ConflictError,
    CredentialReportError,
    NotFoundError,
    OrganizationSetupError,
    SubscriptionRequiredError,
    ThrottledError,
    UnavailableError,
)

T = TypeVar("T")

# AWS error code -> our class (which declares whether it is retried: core.model.errors).
_CLASS_OF_CODE: dict[str, type[AwsError]] = {
    **dict.fromkeys(
        ("NoSuchEntity", "NoSuchEntityException", "NotFound", "ResourceNotFoundException"), NotFoundError
    ),
    **dict.fromkeys(
        ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"),
        AccessDeniedError,
    ),
    "SubscriptionRequiredException": SubscriptionRequiredError,  # the Health API on a basic plan
    **dict.fromkeys(
        ("Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"),
        ThrottledError,
    ),
    **dict.fromkeys(
        ("ConcurrentModification", "ConcurrentModificationException"), ConcurrentModificationError
    ),
    **dict.fromkeys(("EntityAlreadyExists", "LimitExceeded", "DeleteConflict"), ConflictError),
    **dict.fromkeys(
        ("ServiceFailure", "ServiceFailureException", "ServiceUnavailable", "InternalFailure"),
        UnavailableError,
    ),
    # Centralized root access (ListOrganizationsFeatures): the organisation, not the call, must change.
    **dict.fromkeys(
        (
            "OrganizationNotFoundException",
            "OrganizationNotInAllFeaturesModeException",
            "ServiceAccessNotEnabledException",
            "AccountNotManagementOrDelegatedAdministratorException",
        ),
        OrganizationSetupError,
    ),
    **dict.fromkeys(
        ("ReportNotPresent", "ReportExpired", "ReportInProgress", "ReportGenerationLimitExceeded"),
        CredentialReportError,
    ),
}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def translate(operation: str, exc: Exception) -> AwsError:
    """Map a botocore failure to our exception tree; the message names the API call and the code."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")).splitlines()[0:1]
        text = message[0] if message else ""
        return _CLASS_OF_CODE.get(code, AwsError)(operation, code, text)
    if isinstance(exc, NoCredentialsError):
        return AccessDeniedError(operation, "NoCredentials", "no AWS credentials found")
    if isinstance(exc, BotoConnectionError | HTTPClientError):  # refused, reset, timed out, closed
        return UnavailableError(operation, type(exc).__name__, str(exc).splitlines()[0])
    if isinstance(exc, BotoCoreError):
        return AwsError(operation, type(exc).__name__, str(exc).splitlines()[0])
    if isinstance(exc, ResponseParserError):  # an empty or garbled answer: not AWS's format
        return AwsError(operation, "ResponseParserError", "the endpoint's answer is not an AWS response")
    raise TypeError(f"not an AWS error: {exc!r}")


class Retrier:
    """Retries what the error classes declare ``retry_in_process`` (throttling, concurrent modification,
    network and AWS-side failures) with capped, jittered exponential backoff; raises the rest translated."""

    def __init__(
        self,
        *,
        max_attempts: int | None = None,
        base_delay: float = 0.2,
        max_delay: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts is None:  # the process's bound (core.aws.clients: 6, the CLI's 3)
            from core.aws.clients import connection

            max_attempts = connection().max_attempts
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep

    def call(self, operation: str, fn: Callable[[], T]) -> T:
        attempt = 1
        while True:
            try:
                return fn()
            except (ClientError, BotoCoreError, ResponseParserError) as exc:
                error = translate(operation, exc)
                if not error.retry_in_process or attempt >= self.max_attempts:
                    raise error from None
            delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
            self.sleep(delay * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not crypto
            attempt += 1


class CallCounter:
    """Counts the API calls a boto3 client makes (the real cost of a job, and its throttling risk)."""

    def __init__(self, on_call: Callable[[str, int, int], None] | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()  # per-user reads run in a few threads (core.sweep.report.read_each)
        # Told of every call: (operation, its calls so far, all calls so far); the CLI's progress lines.
        self.on_call = on_call

    def attach(self, client: Any) -> Any:
        service = client.meta.service_model.service_name
        client.meta.events.register(f"before-call.{service}.*", self._record)
        return client

    def _record(self, model: Any, **_: Any) -> None:
        key = f"{model.service_model.service_name}:{model.name}"
        with self._lock:
            self.calls[key] += 1
            if self.on_call is not None:
                self.on_call(model.name, self.calls[key], self.total)

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()


class Gateway:
    """Base of the adapters: one boto3 client, every call through a ``Retrier``.

    The client is injected (tests; a member account's assumed-role client) or created on first use by
    ``client_factory``, so constructing a gateway costs nothing until it calls AWS (cold starts).
    """

    default_client_factory: ClassVar[Callable[[], Any]]

    def __init__(
        self,
        client: Any = None,
        *,
        retrier: Retrier | None = None,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._client = client
        self._client_factory = client_factory or type(self).default_client_factory
        self._client_lock = threading.Lock()
        self.retrier = retrier or Retrier()

    @property
    def client(self) -> Any:
        # Reads made at once (core.sweep.report) share one gateway: one client, made once (it costs a
        # tenth of a second of CPU and carries the call counter).
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._client_factory()
        return self._client

    def _paged(
        self,
        operation: str,
        *,
        position_field: str = "NextToken",
        truncated: str | None = None,
        **params: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a listing, each page retried on its own (boto3's paginators give up on
        throttling). ``position_field``: the request parameter and response field that carry the
        position (IAM: ``Marker``); ``truncated``: the flag saying more pages follow, where the API has
        one (IAM: ``IsTruncated``)."""
        position: str | None = None
        while True:
            at = {position_field: position} if position else {}
            page: dict[str, Any] = self._call(operation, **params, **at)
            yield page
            more = page.get(truncated, False) if truncated else True
            position = page.get(position_field) if more else None
            if not position:
                return

    def _call(self, operation: str, **params: Any) -> Any:
        """``operation`` is the API's name (``GetUser``): what the retrier reports and errors name."""
        from botocore import xform_name

        method = getattr(self.client, xform_name(operation))
        return self.retrier.call(operation, lambda: method(**params))
