"""The one client factory: every boto3 session and client of IAM Guard is built here, and only here.

boto3 is imported lazily, inside these functions: importing this module costs nothing (``iam-guard --help``,
``iam-guard policy`` and ``iam-guard scp`` load no AWS SDK; ``tests/architecture/test_start_up.py``).

Every client gets the same ``Config``:

- connect timeout ``CONNECT_TIMEOUT`` (5 s) and read timeout ``READ_TIMEOUT`` (20 s; the CLI's
  ``--read-timeout`` changes it for the process);
- botocore's own retries off (``total_max_attempts=1``): ``core.aws.gateway.Retrier`` is the one retry
  layer, so a call is attempted at most ``Retrier.max_attempts`` times and call counts stay exact.

Where the clients point is one process-wide ``Connection`` (profile, region of the regional services,
endpoint URL) that the CLI sets once with ``configure`` from its flags and the AWS variables; a Lambda
function never calls ``configure`` and gets boto3's standard resolution (the function's role and region).
IAM, STS, Organizations and the stack's own services are global or live in IAM Guard's region, so they
are always reached in ``HOME_REGION``; ``--region`` moves only the regional ones (Security Hub).

A configuration error boto3 raises while building a session or client (an unknown profile, an unreadable
config file) becomes one ``SettingsError`` line; nothing here lets a botocore exception escape.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from core.model.errors import AwsError, SettingsError

CONNECT_TIMEOUT = 5.0  # seconds
READ_TIMEOUT = 20.0  # seconds
HOME_REGION = "us-east-1"  # IAM's CloudTrail events reach EventBridge only here; the stack lives here
# Always reached in HOME_REGION, whatever --region or AWS_REGION say (IAM is global; the rest is the stack's).
HOME_SERVICES = frozenset({"iam", "sts", "organizations", "cloudformation", "events", "lambda", "s3", "sns"})


@dataclass(frozen=True)
class Connection:
    """Where clients point. ``None`` everywhere: boto3's standard resolution (environment, config files)."""

    profile: str | None = None
    region: str | None = None  # for the regional services only
    endpoint_url: str | None = None
    read_timeout: float = READ_TIMEOUT
    max_attempts: int = 6  # per call, by core.aws.gateway.Retrier (the CLI: 3)


@dataclass
class _State:
    """The process's client settings: the connection and the session clients are made from."""

    connection: Connection = field(default_factory=Connection)
    session: Any = None  # the configured profile's session; without a profile, boto3's default one


_lock = threading.Lock()
_state = _State()


def configure(connection: Connection) -> None:
    """Set, once per process (the CLI, from its flags), where every later client points."""
    with _lock:
        _state.connection = connection
        _state.session = None


def connection() -> Connection:
    return _state.connection


def client_config(**extra: Any) -> Any:
    """botocore's ``Config`` for every client: the timeouts, botocore's retries off, plus ``extra``."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=connection().read_timeout,
        retries={"total_max_attempts": 1},  # core.aws.gateway.Retrier retries
        **extra,
    )


def default_session() -> Any:
    """The process's session: boto3's default one (anything observing it, like the demo's call counts,
    sees every client made from it), or one for the configured profile."""
    import boto3

    with _lock:
        profile = connection().profile
        if profile is not None:
            if _state.session is None:
                _state.session = _with_fast_timestamps(_build(lambda: boto3.Session(profile_name=profile)))
            return _state.session
        if boto3.DEFAULT_SESSION is None:
            _build(boto3.setup_default_session)
        return _with_fast_timestamps(boto3.DEFAULT_SESSION)


def fresh_default_session(region: str | None = None) -> Any:
    """A new boto3 default session (the demo's emulator: every later client, the handlers', comes from it)."""
    import boto3

    with _lock:
        _build(lambda: boto3.setup_default_session(region_name=region))
        return _with_fast_timestamps(boto3.DEFAULT_SESSION)


def forget_default_session() -> None:
    """Drop boto3's default session: the next client resolves the environment again."""
    import boto3

    with _lock:
        boto3.DEFAULT_SESSION = None


def new_session(region: str | None = None) -> Any:
    """A session of its own (org mode's one per process, the demo's people), for the configured profile."""
    import boto3

    return _with_fast_timestamps(
        _build(lambda: boto3.Session(profile_name=connection().profile, region_name=region))
    )


def client(
    service: str,
    *,
    session: Any = None,
    region: str | None = None,
    credentials: Any = None,
    **config: Any,
) -> Any:
    """A client of ``service`` from ``session`` (default: ``default_session()``), with ``client_config``.

    ``credentials``: an object with ``access_key_id``, ``secret_access_key`` and ``session_token`` (an
    assumed role's); without it the session's own. ``region``: without it ``HOME_REGION`` for the home
    services, else the configured region or the session's (``region_of``).
    """
    source = session if session is not None else default_session()
    keys: dict[str, Any] = {}
    if credentials is not None:
        keys = {
            "aws_access_key_id": credentials.access_key_id,
            "aws_secret_access_key": credentials.secret_access_key,
            "aws_session_token": credentials.session_token,
        }
    if connection().endpoint_url:
        keys["endpoint_url"] = connection().endpoint_url
    return _build(
        lambda: source.client(
            service, region_name=region or region_of(service, source), config=client_config(**config), **keys
        )
    )


def client_error(code: str, message: str, operation: str) -> Exception:
    """The error a client raises when AWS answers ``code``: for stand-ins of AWS services (the demo)."""
    from botocore.exceptions import ClientError

    error: Exception = ClientError({"Error": {"Code": code, "Message": message}}, operation)
    return error


def region_of(service: str, session: Any = None) -> str | None:
    """The region a client of ``service`` is built for when none is asked for: ``HOME_REGION`` for the home
    services; else the configured one, else the session's (environment, profile), else None (botocore's
    ``NoRegionError``: a regional call never guesses where it goes)."""
    if service in HOME_SERVICES:
        return HOME_REGION
    return connection().region or getattr(
        session if session is not None else default_session(), "region_name", None
    )


def _with_fast_timestamps(session: Any) -> Any:
    """IAM's timestamps parsed with ``core.aws.iam.parse_iam_timestamp``: botocore's default (dateutil)
    took half of the sweep's wall time at 1,000 users. The same instants, parsed faster, for every client."""
    from core.aws.iam import parse_iam_timestamp

    session._session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_iam_timestamp
    )
    return session


def _build(make: Any) -> Any:
    """``make()``, with boto3's configuration errors as one line (the profile, the config file)."""
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    try:
        return make()
    except ProfileNotFound as exc:
        raise SettingsError(f"{exc} (check --profile / AWS_PROFILE and ~/.aws/config)") from None
    except BotoCoreError as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise AwsError("client", type(exc).__name__, first) from None
    except ValueError as exc:  # e.g. an endpoint URL botocore cannot use
        raise SettingsError(f"cannot build an AWS client: {exc}") from None
