"""Per-account credentials: one boto3 session per process, one ``AssumeRole`` per account and role.

A ``RoleAssumer`` built with ``reuse=True`` (the org enforcer's) keeps each account's session and clients
until ``REFRESH_BEFORE_EXPIRY`` before the credentials expire: a batch of ten events from one member then
costs one ``AssumeRole``, not ten. Nothing is written to disk; the credentials live in the container's
memory for at most the session's duration (15 minutes), as the function's own do.

Clients for an account are derived from the process's one session with the assumed role's credentials
(a new ``boto3.Session`` per account costs about 5x the time: design note, measurement E1). botocore's
own retries are off: ``core.aws.gateway.Retrier`` retries, so call counts stay exact. Creating a client from a
shared session is not thread-safe, so client creation (only) is serialised.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from core.aws.clients import client
from core.aws.gateway import CallCounter, Retrier
from core.aws.iam import permissions_of, requires

SOURCE_IDENTITY = "iam-guard"
SESSION_PREFIX = "iam-guard-"
MIN_DURATION, MAX_DURATION = 900, 3600
DEFAULT_DURATION = 900
REFRESH_BEFORE_EXPIRY = 300  # seconds: a reused session always has at least this long left


def role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def session_name(purpose: str) -> str:
    """``iam-guard-<purpose>``: what CloudTrail shows in the member as the session's name."""
    return f"{SESSION_PREFIX}{purpose}"[:64]


class RoleCredentials(NamedTuple):
    """The temporary credentials AssumeRole returned (never printed: see ``__repr__``)."""

    access_key_id: str
    secret_access_key: str
    session_token: str

    def __repr__(self) -> str:  # never print a secret
        return f"RoleCredentials(access_key_id={self.access_key_id!r}, ...)"


class StsGateway:
    """The STS adapter for cross-account access (one call, declared like every other adapter's)."""

    def __init__(self, client: Any, *, retrier: Retrier | None = None) -> None:
        self.client = client
        self.retrier = retrier or Retrier()

    @requires("sts:AssumeRole", "sts:SetSourceIdentity")
    def assume_role(self, arn: str, purpose: str, duration: int = DEFAULT_DURATION) -> RoleCredentials:
        if not MIN_DURATION <= duration <= MAX_DURATION:
            raise ValueError(f"DurationSeconds {duration} outside {MIN_DURATION}..{MAX_DURATION}")
        response = self.retrier.call(
            "AssumeRole",
            lambda: self.client.assume_role(
                RoleArn=arn,
                RoleSessionName=session_name(purpose),
                SourceIdentity=SOURCE_IDENTITY,
                DurationSeconds=duration,
            ),
        )
        creds = response["Credentials"]
        return RoleCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


ASSUME_PERMISSIONS = permissions_of(StsGateway.assume_role)


@dataclass
class AccountAccess:
    """Clients of one account under one role. Counts the calls its clients make.

    ``make_client(service, region)``: ``region`` None is the assumer's own region (us-east-1); a regional
    service asked elsewhere (a GuardDuty finding's region, CloudTrail's) gets a client of that region.
    """

    account_id: str
    role_arn: str
    make_client: Callable[[str, str | None], Any]
    counter: CallCounter = field(default_factory=CallCounter)
    _clients: dict[tuple[str, str | None], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, service: str, region: str | None = None) -> Any:
        """One client per service and region, made on first use (thread-safe: the summary reads regions
        at once)."""
        with self._lock:
            if (service, region) not in self._clients:
                self._clients[(service, region)] = self.counter.attach(self.make_client(service, region))
            return self._clients[(service, region)]


class Assumer(Protocol):
    """Gives the clients of an account under a role (``RoleAssumer``; the benchmark pins clients)."""

    def access(self, account_id: str, role_name: str, purpose: str) -> AccountAccess: ...

    def forget(self, account_id: str, role_name: str, purpose: str) -> None: ...

    @property
    def assume_calls(self) -> Counter[str]: ...


POOL: dict[str, Any] = {"max_pool_connections": 4}  # per client: a member's sweep runs few calls at a time


def client_config() -> Any:
    """``core.aws.clients.client_config`` (timeouts, botocore's retries off) with a small pool."""
    from core.aws.clients import client_config as config

    return config(**POOL)


def new_session() -> Any:
    """The process's one boto3 session (``core.aws.clients``: the configured profile, the fast parser)."""
    from core.aws.clients import new_session as session

    return session()


class RoleAssumer:
    """``sts:AssumeRole`` into ``arn:aws:iam::<account>:role/<name>`` with the caller's credentials."""

    def __init__(
        self,
        session: Any = None,
        *,
        sts: StsGateway | None = None,
        duration: int = DEFAULT_DURATION,
        partition: str = "aws",
        region: str = "us-east-1",
        reuse: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session if session is not None else new_session()
        self.reuse = reuse
        self.clock = clock
        self._reused: dict[tuple[str, str, str], tuple[float, AccountAccess]] = {}  # key -> (until, access)
        self._lock = threading.Lock()
        self.region = region
        self.partition = partition
        self.duration = duration
        self._sts = sts
        self.assume_calls: Counter[str] = Counter()  # per account

    @property
    def sts(self) -> StsGateway:
        with self._lock:
            if self._sts is None:
                self._sts = StsGateway(client("sts", session=self.session, region=self.region, **POOL))
            return self._sts

    def access(self, account_id: str, role_name: str, purpose: str) -> AccountAccess:
        """Clients of ``account_id`` as ``role_name``: a fresh ``AssumeRole``, or (``reuse``) the last one
        for this account, role and purpose while it has ``REFRESH_BEFORE_EXPIRY`` seconds left."""
        key = (account_id, role_name, purpose)
        if self.reuse:
            with self._lock:
                until, kept = self._reused.get(key, (0.0, None))
            if kept is not None and self.clock() < until:
                return kept
        started = self.clock()
        access = self._assume(account_id, role_name, purpose)
        if self.reuse:
            with self._lock:
                self._reused[key] = (started + self.duration - REFRESH_BEFORE_EXPIRY, access)
        return access

    def forget(self, account_id: str, role_name: str, purpose: str) -> None:
        """Drop a reused session (its calls were denied: the role may have changed); the next one assumes."""
        with self._lock:
            self._reused.pop((account_id, role_name, purpose), None)

    def _assume(self, account_id: str, role_name: str, purpose: str) -> AccountAccess:
        arn = role_arn(account_id, role_name, self.partition)
        with self._lock:
            self.assume_calls[account_id] += 1
        credentials = self.sts.assume_role(arn, purpose, self.duration)

        def make_client(service: str, region: str | None) -> Any:
            with self._lock:
                return client(
                    service,
                    session=self.session,
                    region=region or self.region,
                    credentials=credentials,
                    **POOL,
                )

        return AccountAccess(account_id, arn, make_client)
