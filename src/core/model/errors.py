"""One exception tree for the whole product.

Every expected failure is an ``IamGuardError`` whose ``str()`` is one line saying what and why. Entry
points (Lambda handlers, the CLI) catch this base class only; anything else is a bug and keeps its traceback.

The failure contract is declared here, on the classes, and read by everything that retries:

- ``retry_in_process``: the same call, after a short backoff, may succeed (throttling, a concurrent
  modification, a network error, an AWS-side failure). ``core.aws.gateway.Retrier`` retries exactly these.
- ``retry_in_lambda``: handling the whole event again later may succeed - everything above, plus
  conflicts a fresh read resolves (EntityAlreadyExists, LimitExceeded) and AWS errors we do not classify.
  ``core.enforce.enforcer.is_retryable`` reads it: the enforcer re-raises these so Lambda retries the event,
  and reports the others (missing permission, bad settings, bad event) as permanent failures.
"""

from __future__ import annotations


class IamGuardError(Exception):
    """Base class: an expected failure with a one-line, human-readable message."""

    exit_code = 1
    retry_in_process = False
    retry_in_lambda = False


class InvalidInputError(IamGuardError):
    """The caller gave something we cannot use (settings, an event, a file). Nothing was changed."""

    exit_code = 2


class SettingsError(InvalidInputError):
    """A setting is missing or invalid."""


class PolicyTooLargeError(InvalidInputError):
    """The rendered policy would exceed IAM's managed-policy size limit."""


class InvalidEventError(InvalidInputError):
    """An event is not a well-formed EventBridge event of a kind we understand."""


class AwsError(IamGuardError):
    """An AWS API call failed. Translated once, in the adapter (``core.aws.gateway.translate``), from
    botocore.

    This class itself is an error code we do not classify: possibly transient, so Lambda may retry.
    """

    exit_code = 1
    retry_in_lambda = True

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation = operation
        self.code = code
        self.aws_message = message
        super().__init__(f"{operation} failed: {code}: {message}".rstrip(": "))


class NotFoundError(AwsError):
    """NoSuchEntity and friends: the thing we asked about does not exist (any more)."""

    retry_in_lambda = False


class AccessDeniedError(AwsError):
    """Our credentials lack a permission: the message names the API call."""

    retry_in_lambda = False


class SubscriptionRequiredError(AccessDeniedError):
    """The AWS Health API on a plan below Business support: the expected answer, never retried."""


class ThrottledError(AwsError):
    """Throttling (raised once it persisted through every in-process retry)."""

    retry_in_process = True


class ConflictError(AwsError):
    """EntityAlreadyExists / LimitExceeded / DeleteConflict: someone else changed the resource. The same
    call would fail again; a fresh read of the state (the next attempt at the event) resolves it."""


class ConcurrentModificationError(ConflictError):
    """ConcurrentModification: another request was changing the same resource at that moment."""

    retry_in_process = True


class UnavailableError(AwsError):
    """AWS could not be reached or failed on its side: network errors, timeouts, ServiceFailure."""

    retry_in_process = True


class OrganizationSetupError(AwsError):
    """The organisation is not set up for the call: no organisation, not all features, IAM's trusted
    access off, or the caller is neither the management account nor IAM's delegated administrator. The
    same call fails until someone changes the organisation: never retried."""

    retry_in_lambda = False


class CredentialReportError(AwsError):
    """The credential report could not be generated or read within the allowed time."""

    retry_in_lambda = False


class SecurityHubImportError(IamGuardError):
    """Findings did not all reach Security Hub (rejected, or a call failed): the message names them."""


class FindingAccountError(AwsError):
    """A finding of another account than the caller's: never sent (Security Hub would refuse it)."""

    def __init__(self, message: str) -> None:
        super().__init__("BatchImportFindings", "AccountMismatch", message)


class DeliveryError(IamGuardError):
    """An alert could not be delivered (SNS, Slack). Never undoes enforcement."""
