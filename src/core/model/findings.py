"""Sweep classification. Pure: an account snapshot + settings + a clock -> findings. No I/O here.

The snapshot is gathered by ``core.sweep.run`` (a constant number of account-wide calls, plus per-user
checks for users the credential report does not know yet). This module decides what is wrong and how
bad it is; ``core.sweep.run`` decides what to do about it.

Vocabulary (also in the docs):

- finding kinds: the root user is judged only by ``root-without-mfa``, ``root-access-key`` and
  ``root-no-credentials``; users by ``console-without-mfa``, ``access-key-without-mfa``,
  ``not-in-secured-group``, the credential hygiene kinds ``console-unused``, ``access-key-unused``,
  ``access-key-old``, ``two-active-keys``, or only ``exempt``;
- statuses: ``violation`` (past grace, needs a person), ``grace`` (user younger than the grace period;
  ``deadline`` says until when), ``exempt``; the sweep later turns some into ``enrolled`` /
  ``would-enrol``, ``remediated`` / ``would-remediate`` or ``failed``; ``not-checked``: a check whose call
  failed (Organizations mode's ``org-root-management-disabled`` on ``<organization>``), nothing judged.

Thresholds (``0`` turns a check off), measured to the second against the sweep's clock:

- unused: a console password, or an active key, whose last activity is ``unused_days`` x 24 h ago or
  earlier ("unused for 45 days or more", as CIS 1.12 says "45 days or greater"). Last activity is the
  later of the last use and the last change (password) / creation (key): a password never used counts
  from ``password_last_changed``, a key never used from its ``last_rotated``;
- old: an active key created more than ``key_max_age_days`` x 24 h ago ("rotated every 90 days or
  less" passes at exactly 90 days, as CIS 1.14 says).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, NamedTuple

from core.model.alerts import Severity
from core.model.credential_report import ROOT as ROOT  # noqa: PLC0414 - the subject of root findings
from core.model.credential_report import AccessKeySlot, CertificateSlot, CredentialRecord

# The vocabularies, as types: mypy refuses a misspelt kind or status wherever a Finding is made.
FindingKind = Literal[
    "root-without-mfa",
    "root-access-key",
    "root-no-credentials",
    "console-without-mfa",
    "access-key-without-mfa",
    "not-in-secured-group",
    "console-unused",
    "access-key-unused",
    "access-key-old",
    "two-active-keys",
    "access-key-exposed",
    "exempt",
    "guardrail-drift",
    "guard-escape",
    "owner-invalid",
    "service-credential-active",
    "service-credential-no-expiry",
    "service-credential-old",
    "password-policy-missing",
    "password-policy-weak",
    "root-virtual-mfa",
    "user-direct-policy",
    "user-full-admin",
    "user-cloudshell-full-access",
    "cli-user-without-totp",
    "signing-certificate-active",
    "signing-certificate-old",
    "ssh-key-active",
    "ssh-key-old",
    "org-root-management-disabled",
]
ROOT_WITHOUT_MFA: Final = "root-without-mfa"
ROOT_ACCESS_KEY: Final = "root-access-key"
ROOT_NO_CREDENTIALS: Final = "root-no-credentials"
CONSOLE_WITHOUT_MFA: Final = "console-without-mfa"
ACCESS_KEY_WITHOUT_MFA: Final = "access-key-without-mfa"
NOT_IN_SECURED_GROUP: Final = "not-in-secured-group"
CONSOLE_UNUSED: Final = "console-unused"
ACCESS_KEY_UNUSED: Final = "access-key-unused"
ACCESS_KEY_OLD: Final = "access-key-old"
TWO_ACTIVE_KEYS: Final = "two-active-keys"
ACCESS_KEY_EXPOSED: Final = "access-key-exposed"  # a leaked key still on the user, or AWS's quarantine
EXEMPT: Final = "exempt"
GUARDRAIL_DRIFT: Final = "guardrail-drift"  # the secured group or the guardrail policy is not as intended
GUARD_ESCAPE: Final = "guard-escape"  # a door around the guardrail (core.sweep.escape); severity per door
OWNER_INVALID: Final = "owner-invalid"  # the owner tag names no reachable owner (core.model.owners)
# Service-specific credentials (CodeCommit, Keyspaces, Bedrock API keys...): not in the credential report.
SERVICE_CREDENTIAL_ACTIVE: Final = "service-credential-active"
SERVICE_CREDENTIAL_NO_EXPIRY: Final = "service-credential-no-expiry"
SERVICE_CREDENTIAL_OLD: Final = "service-credential-old"
# The account's password policy (pseudo-user ``PASSWORD_POLICY``).
PASSWORD_POLICY_MISSING: Final = "password-policy-missing"  # noqa: S105 - a finding kind
PASSWORD_POLICY_WEAK: Final = "password-policy-weak"  # noqa: S105 - a finding kind
USER_DIRECT_POLICY: Final = "user-direct-policy"  # policies attached to the user, not through a group
USER_FULL_ADMIN: Final = "user-full-admin"  # a policy allowing * on * reaches the user
USER_CLOUDSHELL_FULL_ACCESS: Final = "user-cloudshell-full-access"  # AWSCloudShellFullAccess reaches it
ROOT_VIRTUAL_MFA: Final = "root-virtual-mfa"  # the root user's MFA is a virtual device, not hardware
# Strict mode: active keys, MFA, but no TOTP device (only passkeys / security keys: console only).
CLI_USER_WITHOUT_TOTP: Final = "cli-user-without-totp"
# X.509 signing certificates, from the credential report's cert_1_* / cert_2_* columns (no extra call).
SIGNING_CERTIFICATE_ACTIVE: Final = "signing-certificate-active"
SIGNING_CERTIFICATE_OLD: Final = "signing-certificate-old"
# SSH public keys (CodeCommit), read per user for a daily subset (``SshKeyAuditUsersPerRun``; default off).
SSH_KEY_ACTIVE: Final = "ssh-key-active"
SSH_KEY_OLD: Final = "ssh-key-old"
# Organizations mode, once per org sweep (``core.org.root_access``): centralized root access is off.
ORG_ROOT_MANAGEMENT_DISABLED: Final = "org-root-management-disabled"
PASSWORD_POLICY = "<password_policy>"  # noqa: S105 - the subject of the password-policy findings
ORGANIZATION = "<organization>"  # the subject of the organisation's own findings (Organizations mode)

SEVERITY: Mapping[FindingKind, Severity] = {
    ROOT_WITHOUT_MFA: Severity.CRITICAL,
    ROOT_ACCESS_KEY: Severity.CRITICAL,
    CONSOLE_WITHOUT_MFA: Severity.HIGH,
    ACCESS_KEY_WITHOUT_MFA: Severity.HIGH,
    NOT_IN_SECURED_GROUP: Severity.MEDIUM,
    CONSOLE_UNUSED: Severity.MEDIUM,
    ACCESS_KEY_UNUSED: Severity.MEDIUM,
    ACCESS_KEY_OLD: Severity.LOW,
    TWO_ACTIVE_KEYS: Severity.LOW,
    ACCESS_KEY_EXPOSED: Severity.CRITICAL,
    ROOT_NO_CREDENTIALS: Severity.INFO,
    EXEMPT: Severity.INFO,
    GUARDRAIL_DRIFT: Severity.CRITICAL,
    GUARD_ESCAPE: Severity.HIGH,  # the default; each finding's severity is its worst door's
    OWNER_INVALID: Severity.LOW,
    SERVICE_CREDENTIAL_ACTIVE: Severity.MEDIUM,
    SERVICE_CREDENTIAL_NO_EXPIRY: Severity.HIGH,
    SERVICE_CREDENTIAL_OLD: Severity.LOW,
    PASSWORD_POLICY_MISSING: Severity.MEDIUM,
    PASSWORD_POLICY_WEAK: Severity.MEDIUM,
    ROOT_VIRTUAL_MFA: Severity.MEDIUM,
    USER_DIRECT_POLICY: Severity.LOW,
    USER_FULL_ADMIN: Severity.HIGH,
    USER_CLOUDSHELL_FULL_ACCESS: Severity.MEDIUM,
    CLI_USER_WITHOUT_TOTP: Severity.MEDIUM,
    SIGNING_CERTIFICATE_ACTIVE: Severity.MEDIUM,
    SIGNING_CERTIFICATE_OLD: Severity.LOW,
    SSH_KEY_ACTIVE: Severity.MEDIUM,
    SSH_KEY_OLD: Severity.LOW,
    ORG_ROOT_MANAGEMENT_DISABLED: Severity.MEDIUM,
}
MFA_KINDS = frozenset({CONSOLE_WITHOUT_MFA, ACCESS_KEY_WITHOUT_MFA})
HYGIENE_KINDS = frozenset({CONSOLE_UNUSED, ACCESS_KEY_UNUSED, ACCESS_KEY_OLD, TWO_ACTIVE_KEYS})
ROOT_KINDS = frozenset({ROOT_WITHOUT_MFA, ROOT_ACCESS_KEY, ROOT_NO_CREDENTIALS, ROOT_VIRTUAL_MFA})
SERVICE_CREDENTIAL_KINDS = frozenset(
    {SERVICE_CREDENTIAL_ACTIVE, SERVICE_CREDENTIAL_NO_EXPIRY, SERVICE_CREDENTIAL_OLD}
)
PASSWORD_POLICY_KINDS = frozenset({PASSWORD_POLICY_MISSING, PASSWORD_POLICY_WEAK})
SIGNING_CERTIFICATE_KINDS = frozenset({SIGNING_CERTIFICATE_ACTIVE, SIGNING_CERTIFICATE_OLD})
SSH_KEY_KINDS = frozenset({SSH_KEY_ACTIVE, SSH_KEY_OLD})


class Controls(NamedTuple):
    """What a finding kind answers in AWS Security Hub (CSPM) and the CIS AWS Foundations Benchmark."""

    security_hub: tuple[str, ...]  # Security Hub control IDs, the closest first
    cis: tuple[str, ...]  # CIS AWS Foundations Benchmark recommendation numbers (CIS_VERSIONS)
    cis_v7: tuple[str, ...] = ()  # the same benchmark's v7.0.0 numbers (IAM is section 2 since v6.0)

    @property
    def related_requirements(self) -> tuple[str, ...]:
        """ASFF ``Compliance.RelatedRequirements``: the Security Hub controls, then the CIS v7.0.0 items."""
        return self.security_hub + tuple(f"{CIS_V7_REQUIREMENT}/{item}" for item in self.cis_v7)

    @property
    def none(self) -> bool:
        """No control of either catalogue checks this finding (the docs say "no control")."""
        return not (self.security_hub or self.cis or self.cis_v7)


# CIS renumbers between versions: these are the numbers of v1.4.0 and v3.0.0 (the versions Security Hub
# runs besides v1.2.0 and v5.0.0).
CIS_VERSIONS = "v1.4.0, v3.0.0"
# ``cis_v7``: CIS AWS Foundations Benchmark v7.0.0, named in ASFF as Security Hub names CIS requirements.
CIS_V7_VERSION = "v7.0.0"
CIS_V7_REQUIREMENT = f"CIS AWS Foundations Benchmark {CIS_V7_VERSION}"
# The password policy's controls: IAM.7 and IAM.10 (overall), IAM.11-IAM.17 (one requirement each).
PASSWORD_POLICY_CONTROLS = Controls(
    ("IAM.7", "IAM.10", "IAM.11", "IAM.12", "IAM.13", "IAM.14", "IAM.15", "IAM.16", "IAM.17"),
    ("1.8", "1.9"),
    ("2.8", "2.9"),
)
CONTROLS: Mapping[FindingKind, Controls] = {
    ROOT_WITHOUT_MFA: Controls(("IAM.9",), ("1.5",), ("2.5",)),
    ROOT_ACCESS_KEY: Controls(("IAM.4",), ("1.4",), ("2.4",)),
    ROOT_NO_CREDENTIALS: Controls((), ()),
    CONSOLE_WITHOUT_MFA: Controls(("IAM.5", "IAM.19"), ("1.10",), ("2.10",)),
    ACCESS_KEY_WITHOUT_MFA: Controls(("IAM.19",), ()),
    NOT_IN_SECURED_GROUP: Controls((), ()),
    CONSOLE_UNUSED: Controls(("IAM.8", "IAM.22"), ("1.12",), ("2.11",)),
    ACCESS_KEY_UNUSED: Controls(("IAM.8", "IAM.22"), ("1.12",), ("2.11",)),
    ACCESS_KEY_OLD: Controls(("IAM.3",), ("1.14",), ("2.12",)),
    TWO_ACTIVE_KEYS: Controls((), ("1.13",)),  # v7.0 dropped "only one active access key"
    EXEMPT: Controls((), ()),
    GUARDRAIL_DRIFT: Controls((), ()),
    # No Security Hub control or CIS item covers service-specific credentials (said in docs/sweep.md).
    SERVICE_CREDENTIAL_ACTIVE: Controls((), ()),
    SERVICE_CREDENTIAL_NO_EXPIRY: Controls((), ()),
    SERVICE_CREDENTIAL_OLD: Controls((), ()),
    PASSWORD_POLICY_MISSING: PASSWORD_POLICY_CONTROLS,
    PASSWORD_POLICY_WEAK: PASSWORD_POLICY_CONTROLS,
    ROOT_VIRTUAL_MFA: Controls(("IAM.6",), ("1.6",), ("2.6",)),
    USER_DIRECT_POLICY: Controls(("IAM.2",), ("1.15",), ("2.13",)),
    # Only when the policy is customer managed or inline: a finding through AWS's AdministratorAccess alone
    # has ``no_control`` set and names none.
    USER_FULL_ADMIN: Controls(("IAM.1",), ("1.16",), ("2.14",)),
    USER_CLOUDSHELL_FULL_ACCESS: Controls(("IAM.27",), ("1.22",), ("2.20",)),  # 1.22: v3.0.0 only
    ACCESS_KEY_EXPOSED: Controls((), ()),
    GUARD_ESCAPE: Controls((), ()),
    OWNER_INVALID: Controls((), ()),
    CLI_USER_WITHOUT_TOTP: Controls((), ()),  # a lockout of IAM Guard's strict mode, no control asks it
    # No Security Hub control or CIS item covers signing certificates (said in docs/sweep.md).
    SIGNING_CERTIFICATE_ACTIVE: Controls((), ()),
    SIGNING_CERTIFICATE_OLD: Controls((), ()),
    # Nor SSH public keys.
    SSH_KEY_ACTIVE: Controls((), ()),
    SSH_KEY_OLD: Controls((), ()),
    # CIS v7.0 2.1.1 asks for centralized root access; no Security Hub control checks it (docs/sweep.md).
    ORG_ROOT_MANAGEMENT_DISABLED: Controls((), (), ("2.1.1",)),
}

Status = Literal[
    "violation",
    "grace",
    "exempt",
    "enrolled",
    "would-enrol",
    "remediated",
    "would-remediate",
    "healed",
    "would-heal",
    "failed",
    "not-checked",
]
VIOLATION: Final = "violation"
GRACE: Final = "grace"
EXEMPTED: Final = "exempt"
ENROLLED: Final = "enrolled"
WOULD_ENROL: Final = "would-enrol"
REMEDIATED: Final = "remediated"
WOULD_REMEDIATE: Final = "would-remediate"
HEALED: Final = "healed"
WOULD_HEAL: Final = "would-heal"
FAILED: Final = "failed"
# The check could not be made (its call failed; the detail says why): nothing is judged, nothing is done,
# and it never makes a quiet run send an alert (not in ATTENTION_STATUSES).
NOT_CHECKED: Final = "not-checked"
# Statuses that make a run worth an alert even with quiet runs (see ``needs_attention``).
ATTENTION_STATUSES = frozenset(
    {VIOLATION, ENROLLED, WOULD_ENROL, REMEDIATED, WOULD_REMEDIATE, HEALED, WOULD_HEAL, FAILED}
)
# Within one severity, what a person must look at first.
_STATUS_ORDER = {
    FAILED: 0,
    VIOLATION: 1,
    REMEDIATED: 2,
    WOULD_REMEDIATE: 3,
    HEALED: 2,
    WOULD_HEAL: 3,
    ENROLLED: 4,
    WOULD_ENROL: 5,
    GRACE: 6,
    EXEMPTED: 7,
    NOT_CHECKED: 8,
}

REACTIVATE = "aws iam update-access-key --status Active --user-name USER --access-key-id ID"
REACTIVATE_SERVICE_CREDENTIAL = (
    "aws iam update-service-specific-credential --status Active --user-name USER "
    "--service-specific-credential-id ID"
)
_ACTION = {
    ROOT_WITHOUT_MFA: "Enable MFA on the root user (sign in as root, Security credentials, Assign MFA).",
    ROOT_ACCESS_KEY: "Delete the root user's access keys (sign in as root, Security credentials); use roles.",
    ROOT_NO_CREDENTIALS: "Nothing to do: root has no password and no access key to protect. Keep it so.",
    CONSOLE_WITHOUT_MFA: "Ask the user to register an MFA device, or remove the console password.",
    ACCESS_KEY_WITHOUT_MFA: "Ask the owner to register an MFA device, or move the workload to a role.",
    NOT_IN_SECURED_GROUP: "Add the user to the secured group, or exempt them explicitly.",
    CONSOLE_UNUSED: "Remove the console password if it is no longer needed (aws iam delete-login-profile).",
    ACCESS_KEY_UNUSED: "Deactivate the unused key (aws iam update-access-key); delete it once nothing broke.",
    ACCESS_KEY_OLD: "Rotate the key: create one, move the workload to it, deactivate and delete the old one.",
    TWO_ACTIVE_KEYS: "Finish the rotation: deactivate, then delete, the key no longer in use.",
    ACCESS_KEY_EXPOSED: "Delete the leaked key once its workload has a new one, then remove the quarantine.",
    EXEMPT: "Review the exemption; remove the tag or setting when it is no longer needed.",
    GUARD_ESCAPE: (
        "Put the guardrail's DenyAllOutsideAllowedNetworks statement on each role named (MFA or "
        "aws:SourceIp in its trust checks only the AssumeRole call), or stop the user assuming it."
    ),
    OWNER_INVALID: "Fix the owner tag: an e-mail address and/or a Slack member ID (U... or W...), "
    "space-separated.",
    SERVICE_CREDENTIAL_ACTIVE: "Delete the credential if unused (aws iam delete-service-specific-credential);"
    " prefer roles or short-term keys.",
    SERVICE_CREDENTIAL_NO_EXPIRY: "Replace the API key with one that expires (or a short-term key), then "
    "delete it.",
    SERVICE_CREDENTIAL_OLD: "Rotate the credential (aws iam reset-service-specific-credential), or delete "
    "it.",
    PASSWORD_POLICY_MISSING: "Set an account password policy (aws iam update-account-password-policy): "
    "length 14 or more, reuse prevention 24, all four character classes.",
    USER_DIRECT_POLICY: "Move the user's policies to a group and detach them from the user.",
    USER_FULL_ADMIN: "Replace the administrator policy with the permissions the user's job needs.",
    USER_CLOUDSHELL_FULL_ACCESS: "Detach AWSCloudShellFullAccess; grant CloudShell without file transfer.",
    ROOT_VIRTUAL_MFA: "Replace the root user's virtual MFA device with a hardware one (FIDO key or token).",
    PASSWORD_POLICY_WEAK: "Raise each requirement the detail names (aws iam update-account-password-policy).",
    CLI_USER_WITHOUT_TOTP: "Register a TOTP device too (an authenticator app or a hardware token; up to 8 "
    "devices per user): passkeys and security keys give GetSessionToken no code. Or move the workload to a "
    "role.",
    SIGNING_CERTIFICATE_ACTIVE: "Delete the signing certificate if unused (aws iam "
    "list-signing-certificates, then delete-signing-certificate).",
    SIGNING_CERTIFICATE_OLD: "Rotate the signing certificate (upload a new one, move its user to it, delete "
    "the old one), or delete it.",
    SSH_KEY_ACTIVE: "Delete the SSH public key if unused (aws iam delete-ssh-public-key), or deactivate it "
    "(aws iam update-ssh-public-key --status Inactive).",
    SSH_KEY_OLD: "Rotate the SSH key: upload a new one, move the Git client to it, delete the old one.",
    ORG_ROOT_MANAGEMENT_DISABLED: "Enable centralized root access from the management account (aws iam "
    "enable-organizations-root-credentials-management; trusted access for IAM first), then delete the "
    "members' root credentials: enabling it deletes none.",
}


def is_totp_serial(serial: str) -> bool:
    """Whether ``ListMFADevices``' serial is a hardware TOTP token's (``GAHT12345678``), not an ARN.

    IAM names virtual devices by their ARN (``arn:aws:iam::<account>:mfa/<name>``, MFADevice reference)
    and FIDO security keys and passkeys by an ARN too (GetMFADevice "accepts only FIDO security key
    ARNs"); a hardware TOTP token by its plain serial (GetSessionToken's ``SerialNumber``: "the serial
    number for a hardware device (such as GAHT12345678) or an ARN for a virtual device"). So an ARN is
    a virtual device or a FIDO one, and the account-wide virtual listing tells which.
    """
    return not serial.startswith("arn:")


class Credentials(NamedTuple):
    """What a user can sign in with, whether an MFA device guards it, and when each was last used."""

    password_enabled: bool
    mfa: bool
    source: str  # "report" (credential report + fresh virtual-MFA listing) or "live" (per-user calls)
    keys: tuple[AccessKeySlot, ...] = ()  # every key slot (report: slots 1 and 2; live: ListAccessKeys)
    password_last_used: datetime | None = None
    password_last_changed: datetime | None = None
    mfa_serials: tuple[str, ...] | None = None  # live: ListMFADevices' serials (None: not read)
    certificates: tuple[CertificateSlot, ...] = ()  # signing certificates (report only: live has none)

    @property
    def active_key_slots(self) -> tuple[AccessKeySlot, ...]:
        return tuple(k for k in self.keys if k.active)

    @property
    def active_keys(self) -> int:
        return len(self.active_key_slots)

    @property
    def password_last_activity(self) -> datetime | None:
        """The password's last use, or its last change when that is later (or it was never used)."""
        known = [m for m in (self.password_last_used, self.password_last_changed) if m is not None]
        return max(known) if known else None


class RootCredentials(NamedTuple):
    """The root user's credentials: GetAccountSummary (live) and the report's ``<root_account>`` row.

    The summary decides (the report is up to 4 hours old, and its root row says ``not_supported`` for
    the password); the row adds which key slots were active and when they were used. ``None``: the
    summary did not say (moto's has no ``AccountPasswordPresent``): assume the credential exists.
    """

    password: bool | None  # AccountPasswordPresent
    access_keys: bool | None  # AccountAccessKeysPresent (any key, active or not)
    mfa: bool | None  # AccountMFAEnabled
    report: CredentialRecord | None = None  # the <root_account> row, when the report has one

    @classmethod
    def from_summary(cls, summary: Mapping[str, int], row: CredentialRecord | None) -> RootCredentials:
        def present(key: str) -> bool | None:
            return bool(summary[key]) if key in summary else None

        return cls(
            password=present("AccountPasswordPresent"),
            access_keys=present("AccountAccessKeysPresent"),
            mfa=present("AccountMFAEnabled"),
            report=row,
        )

    @property
    def report_active_keys(self) -> tuple[AccessKeySlot, ...]:
        return self.report.active_keys if self.report else ()

    @property
    def has_access_key(self) -> bool:
        """The summary, live, when it says; else the report's active slots."""
        if self.access_keys is not None:
            return self.access_keys
        return bool(self.report_active_keys)

    @property
    def has_mfa(self) -> bool | None:
        if self.mfa is not None:
            return self.mfa
        return self.report.mfa_active if self.report else None


class UserRecord(NamedTuple):
    """One user from the account-wide listing (GetAccountAuthorizationDetails)."""

    name: str
    arn: str
    created: datetime
    groups: frozenset[str]
    tags: Mapping[str, str]
    policies: frozenset[str] = frozenset()  # attached managed policy ARNs


class ServiceCredential(NamedTuple):
    """One service-specific credential (ListServiceSpecificCredentials): CodeCommit HTTPS Git, Amazon
    Keyspaces, Amazon Bedrock or CloudWatch Logs API keys. IAM records no last use for these."""

    user: str
    credential_id: str
    service: str  # ServiceName, e.g. codecommit.amazonaws.com, bedrock.amazonaws.com
    status: str  # Active | Inactive | Expired
    created: datetime | None
    expires: datetime | None = None  # ExpirationDate (API keys only; None: never expires)

    @property
    def active(self) -> bool:
        return self.status == "Active"


class SshKey(NamedTuple):
    """One SSH public key of a user (ListSSHPublicKeys): CodeCommit over SSH. No last use is recorded."""

    key_id: str  # SSHPublicKeyId
    status: str  # Active | Inactive
    uploaded: datetime | None  # UploadDate

    @property
    def active(self) -> bool:
        return self.status == "Active"


class Grant(NamedTuple):
    """One policy as it reaches a user."""

    label: str  # "managed policy X", "inline policy Y", "group G: managed policy X"
    kind: str  # "aws" (AWS managed), "customer" (customer managed), "inline"


class UserPermissions(NamedTuple):
    """The policies that reach one user (``core.sweep.permissions`` reads them from the account listing)."""

    direct: tuple[str, ...] = ()  # labels of the policies attached to the user, counted
    not_counted: tuple[str, ...] = ()  # attached to the user, but AWS's quarantine or IAM Guard's own
    full_admin: tuple[Grant, ...] = ()  # policies allowing * on * that reach the user
    cloudshell: tuple[str, ...] = ()  # where AWSCloudShellFullAccess reaches the user from


@dataclass(frozen=True)
class Snapshot:
    """Everything the classification needs, gathered by ``core.sweep.report.gather``."""

    report_generated_at: datetime
    records: Mapping[str, CredentialRecord]  # user name (and <root_account>) -> credential report row
    users: tuple[UserRecord, ...]
    virtual_mfa_users: frozenset[str]  # users holding an assigned virtual MFA device now
    root: RootCredentials
    live: Mapping[str, Credentials] = field(default_factory=dict)  # users missing from the report
    # Every user's service-specific credentials (None: not read, as by callers that build a Snapshot alone).
    service_credentials: tuple[ServiceCredential, ...] | None = None
    # GetAccountPasswordPolicy's PasswordPolicy; None with ``password_policy_read``: the account has none.
    password_policy: Mapping[str, Any] | None = None
    password_policy_read: bool = False
    root_virtual_mfa: bool = False  # the root user's MFA device is virtual (ListVirtualMFADevices)
    permissions: Mapping[str, UserPermissions] = field(default_factory=dict)  # user name -> its policies
    # ListMFADevices' serials, read only for the users ``core.sweep.classify.totp_candidates`` names.
    mfa_devices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # SSH public keys of the users read this run (``SshKeyAuditUsersPerRun``); a user not here was not read.
    ssh_keys: Mapping[str, tuple[SshKey, ...]] = field(default_factory=dict)

    def missing_from_report(self) -> list[str]:
        """Users created after the report was generated: they need per-user checks."""
        return [u.name for u in self.users if u.name not in self.records]


@dataclass(frozen=True)
class Finding:
    """One finding of the sweep: the subject, the kind, how severe, its status and what to do."""

    user: str
    finding: FindingKind
    severity: Severity
    status: Status
    since: datetime | None = None  # user creation; for hygiene kinds, when the credential went idle/was made
    deadline: datetime | None = None  # end of the grace period, or last moment of a dated exemption
    detail: str = ""
    action: str = ""
    source: str = "report"
    active_keys: int = 0  # keys the finding is about, as last seen; remediation re-checks before acting
    no_control: bool = False  # this finding answers none of its kind's controls (see CONTROLS)

    @property
    def needs_attention(self) -> bool:
        return self.status in ATTENTION_STATUSES


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first; within a severity, what needs a person first; then by user and kind."""
    return sorted(
        findings, key=lambda f: (-int(f.severity), _STATUS_ORDER.get(f.status, 99), f.user, f.finding)
    )


def count_by_kind(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings per kind, the most severe kinds first."""
    counts = Counter(f.finding for f in findings)
    ranked = sorted(counts, key=lambda kind: (-int(SEVERITY[kind]), kind))
    return {kind: counts[kind] for kind in ranked}


def count_by_status(findings: Iterable[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: _STATUS_ORDER.get(kv[0], 99)))
