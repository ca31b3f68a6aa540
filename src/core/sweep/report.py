"""Reading the account: the credential report (polled until IAM has it) and the details the report lacks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, TypeVar

from aws_lambda_powertools import Logger

from core.aws.iam import AccountDetails, CredentialReport, IamGateway, decode_document
from core.model.credential_report import ROOT, AccessKeySlot, parse_report
from core.model.errors import AwsError, CredentialReportError, ThrottledError
from core.model.exemptions import tags_to_dict
from core.model.findings import (
    Credentials,
    RootCredentials,
    ServiceCredential,
    Snapshot,
    SshKey,
    UserPermissions,
    UserRecord,
)
from core.sweep.account_checks import ssh_audit_users
from core.sweep.permissions import default_documents, user_permissions

V = TypeVar("V")
logger = Logger(child=True)


# Waits between GenerateCredentialReport polls: once a second for the first 10 s (IAM usually
# finishes in seconds, so a report ready at 5 s is seen within a second of it), then backing off to
# 15 s: polls at 0, 1, ..., 10, 12, 15, 20, 30, 45 s (plus each call's own time), 16 attempts over 45 s.
# A wait never shortens (at most one poll a second) and the schedule stays within 20 polls; a Lambda
# with a few minutes' timeout still reports the failure itself.
REPORT_DELAYS: tuple[float, ...] = (1.0,) * 10 + (2.0, 3.0, 5.0, 10.0, 15.0)


REPORT_ATTEMPTS = len(REPORT_DELAYS) + 1


# IAM answers these while a report is being built, or when it must be rebuilt: wait and ask again.
_REPORT_NOT_READY = {"LimitExceeded", "ReportInProgress", "ReportExpired", "ReportNotPresent"}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fetch_credential_report(
    iam: IamGateway,
    *,
    sleep: Callable[[float], None] = time.sleep,
    delays: Sequence[float] = REPORT_DELAYS,
) -> CredentialReport:
    """Generate (or reuse, if IAM's is under 4 hours old) the report and read it, within a bounded wait."""
    last = "no attempt"
    for attempt in range(len(delays) + 1):
        if attempt:
            sleep(delays[attempt - 1])
        try:
            state = iam.generate_credential_report()
            if state != "COMPLETE":
                last = f"report generation {state}"
                continue
            return iam.get_credential_report()
        except AwsError as exc:
            if exc.code not in _REPORT_NOT_READY:
                raise
            last = str(exc)
    waited = sum(delays)
    raise CredentialReportError(
        "GenerateCredentialReport",
        "NotReady",
        f"the credential report was not ready after {len(delays) + 1} attempts over {waited:g} s "
        f"(last: {last}); try again in a few minutes",
    )


class AccountReads(NamedTuple):
    """What a sweep reads account-wide, before any per-user read."""

    report: CredentialReport
    details: AccountDetails
    virtual_mfa: tuple[set[str], bool]  # users holding a virtual device; whether the root user does
    summary: dict[str, int]
    # Not in the credential report: service-specific credentials (one account-wide listing) and the
    # account's password policy (one call).
    service_credentials: list[dict[str, Any]]
    password_policy: dict[str, Any] | None


def read_account(iam: IamGateway, *, sleep: Callable[[float], None] = time.sleep) -> AccountReads:
    """The six account-wide reads, made at once: none needs another's answer and each is a different IAM
    API. On IAM every call is a round trip to us-east-1, and the report may take seconds to build: the
    other reads are done while it is polled, so a sweep's account-wide reads cost the report's wait (or
    its two calls) instead of all of them one after another. Six calls in flight, once a sweep, whatever
    the account's size. Every read has finished when this returns or raises; a failure is raised as one
    after another would have met it first (the report's, then the listing's, ...)."""
    with ThreadPoolExecutor(max_workers=6, thread_name_prefix="iam-guard-gather") as pool:
        report = pool.submit(fetch_credential_report, iam, sleep=sleep)
        details = pool.submit(iam.account_details)
        virtual_mfa = pool.submit(iam.virtual_mfa_assignments)
        summary = pool.submit(iam.account_summary)
        service = pool.submit(iam.all_service_specific_credentials)
        policy = pool.submit(iam.account_password_policy)
    return AccountReads(
        report.result(),
        details.result(),
        virtual_mfa.result(),
        summary.result(),
        service.result(),
        policy.result(),
    )


def gather(iam: IamGateway, *, sleep: Callable[[float], None] = time.sleep) -> Snapshot:
    """The account-wide reads, then per-user checks only for users the report does not know yet."""
    return gather_with_details(iam, sleep=sleep)[0]


def gather_with_details(
    iam: IamGateway,
    *,
    sleep: Callable[[float], None] = time.sleep,
    ssh_key_audit_users_per_run: int = 0,
    day: date | None = None,
) -> tuple[Snapshot, AccountDetails]:
    """``gather``, also returning the account listing's groups and policies (the guardrail's state).

    With ``ssh_key_audit_users_per_run``, one ``ListSSHPublicKeys`` per user of ``day``'s subset
    (``core.sweep.account_checks.ssh_audit_users``)."""
    reads = read_account(iam, sleep=sleep)
    report, details = reads.report, reads.details
    records = parse_report(report.rows)
    users = tuple(_user_record(u) for u in details.users)
    virtual_users, root_virtual_mfa = reads.virtual_mfa
    virtual_mfa = frozenset(virtual_users)
    # Always asked: the report's root row says not_supported for the password and may be 4 hours old.
    root = RootCredentials.from_summary(reads.summary, records.get(ROOT))
    service = tuple(service_credential(c) for c in reads.service_credentials)
    policy = reads.password_policy
    snapshot = Snapshot(
        _aware(report.generated_at),
        records,
        users,
        virtual_mfa,
        root,
        service_credentials=service,
        password_policy=policy,
        password_policy_read=True,
        root_virtual_mfa=root_virtual_mfa,
        permissions=permissions_from_details(details),
    )
    if ssh_key_audit_users_per_run:
        chosen = ssh_audit_users([u.name for u in users], ssh_key_audit_users_per_run, day or date.today())
        ssh = read_each(chosen, lambda name: tuple(ssh_key(k) for k in iam.list_ssh_public_keys(name)))
        logger.info("SSH public keys read", extra={"users": len(chosen), "of": len(users)})
        snapshot = replace(snapshot, ssh_keys=ssh)
    missing = snapshot.missing_from_report()
    live = read_each(missing, lambda name: live_credentials(iam, name))
    if missing:
        logger.info("users missing from the credential report checked live", extra={"count": len(missing)})
    return replace(snapshot, live=live), details


def live_credentials(iam: IamGateway, user_name: str) -> Credentials:
    """Three per-user calls, for a user the report does not list (created after it was generated).

    Key use is not known live without one more call per key; such a user is younger than the report
    (at most 4 hours), so its keys count from their creation, which cannot make them unused or old.
    """
    devices = iam.list_mfa_devices(user_name)
    return Credentials(
        password_enabled=iam.has_login_profile(user_name),
        mfa=bool(devices),
        source="live",
        mfa_serials=tuple(str(d.get("SerialNumber", "")) for d in devices),
        keys=tuple(
            AccessKeySlot(
                slot=i,
                active=k.get("Status") == "Active",
                last_rotated=_aware(k["CreateDate"]) if isinstance(k.get("CreateDate"), datetime) else None,
                last_used=None,
            )
            for i, k in enumerate(iam.list_access_keys(user_name), start=1)
        ),
    )


# Per-user reads (TOTP candidates' devices, the SSH-key subset) in flight at once. On IAM every call is a
# round trip to us-east-1: 150 reads one after another cost 150 round trips, 8 at a time about 19. IAM
# throttles per account, so the pool stays small, and a throttled read is retried like any other.
PER_USER_READ_WORKERS = 8
# Below this many reads a pool costs more than it saves; they are made one after another, in order.
PER_USER_READ_POOL_FROM = 4


def read_each(users: Sequence[str], read: Callable[[str], V]) -> dict[str, V]:
    """``{user: read(user)}`` for each user, ``PER_USER_READ_WORKERS`` at a time. Each worker takes a fixed
    share (every Nth user, in order), so the work is spread evenly however fast the calls return. Once a
    read stays throttled through its retries, the pool stops and the users left are read one after
    another (IAM's rate is per account and unpublished: a sweep must finish, if slower). Any other
    failure is raised, as it would be one after another; the answers keep the users' order."""
    if len(users) < PER_USER_READ_POOL_FROM:
        return {name: read(name) for name in users}
    throttled = threading.Event()

    def share_of(names: Sequence[str]) -> list[tuple[str, V]]:
        done: list[tuple[str, V]] = []
        for name in names:
            if throttled.is_set():
                break
            try:
                done.append((name, read(name)))
            except ThrottledError:
                throttled.set()
                break
        return done

    workers = min(PER_USER_READ_WORKERS, len(users))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iam-guard-read") as pool:
        shares = list(pool.map(share_of, [users[i::workers] for i in range(workers)]))
    found = dict(pair for share in shares for pair in share)
    left = [name for name in users if name not in found]
    if left:
        logger.warning("per-user reads throttled: the rest one after another", extra={"left": len(left)})
        found.update((name, read(name)) for name in left)
    return {name: found[name] for name in users}


def with_mfa_devices(iam: IamGateway, snapshot: Snapshot, users: Sequence[str]) -> Snapshot:
    """One ``ListMFADevices`` per user named (``core.sweep.classify.totp_candidates``: users the report
    shows with MFA and an active key, and no virtual device): their serials tell a hardware TOTP token
    from passkeys and security keys (``core.model.findings.is_totp_serial``)."""
    if not users:
        return snapshot
    read = read_each(
        users, lambda name: tuple(str(d.get("SerialNumber", "")) for d in iam.list_mfa_devices(name))
    )
    logger.info("MFA devices read for users without a virtual device", extra={"count": len(read)})
    return replace(snapshot, mfa_devices={**snapshot.mfa_devices, **read})


def permissions_from_details(details: AccountDetails) -> dict[str, UserPermissions]:
    """Each user's policies (``core.sweep.permissions``), from the listing already read; documents decoded."""

    def decoded(holder: dict[str, Any], key: str) -> dict[str, Any]:
        inline = [
            {**p, "PolicyDocument": decode_document(p["PolicyDocument"])}
            for p in holder.get(key) or []
            if p.get("PolicyDocument") is not None
        ]
        return {**holder, key: inline}

    users = [decoded(u, "UserPolicyList") for u in details.users]
    groups = [decoded(g, "GroupPolicyList") for g in details.groups]
    policies = [
        {
            **p,
            "PolicyVersionList": [
                {**v, "Document": decode_document(v["Document"])}
                for v in p.get("PolicyVersionList") or []
                if v.get("IsDefaultVersion") and v.get("Document") is not None
            ],
        }
        for p in details.policies
    ]
    return user_permissions(users, groups, default_documents(policies))


def service_credential(entry: dict[str, Any]) -> ServiceCredential:
    """One ``ServiceSpecificCredentials`` entry, in IAM's shape, as a typed record."""
    created, expires = entry.get("CreateDate"), entry.get("ExpirationDate")
    return ServiceCredential(
        user=str(entry.get("UserName", "")),
        credential_id=str(entry.get("ServiceSpecificCredentialId", "")),
        service=str(entry.get("ServiceName", "")),
        status=str(entry.get("Status", "")),
        created=_aware(created) if isinstance(created, datetime) else None,
        expires=_aware(expires) if isinstance(expires, datetime) else None,
    )


def ssh_key(entry: dict[str, Any]) -> SshKey:
    """One ``SSHPublicKeys`` entry (``SSHPublicKeyMetadata``), in IAM's shape, as a typed record."""
    uploaded = entry.get("UploadDate")
    return SshKey(
        key_id=str(entry.get("SSHPublicKeyId", "")),
        status=str(entry.get("Status", "")),
        uploaded=_aware(uploaded) if isinstance(uploaded, datetime) else None,
    )


def _user_record(detail: dict[str, Any]) -> UserRecord:
    created = detail.get("CreateDate")
    return UserRecord(
        name=str(detail["UserName"]),
        arn=str(detail.get("Arn", "")),
        # IAM always sends CreateDate; without one, grant no grace rather than a fresh one.
        created=_aware(created) if isinstance(created, datetime) else _EPOCH,
        groups=frozenset(str(g) for g in detail.get("GroupList") or []),
        tags=tags_to_dict(detail.get("Tags") or []),
        policies=frozenset(
            str(p.get("PolicyArn", ""))
            for p in detail.get("AttachedManagedPolicies") or []
            if isinstance(p, dict)
        ),
    )


def _aware(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
