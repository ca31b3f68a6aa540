"""The one validated settings model, shared by the Lambda functions (environment) and the CLI (flags).

Settings are validated once, when built; every bad value is reported as one line naming the setting,
the value and what is wrong. Core code receives a ``Settings`` instance and never reads ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from core.model import naming
from core.model.errors import SettingsError

MfaMode = Literal["strict", "console"]
LeakedKeyAction = Literal["deactivate", "alert"]
LEAKED_KEY_ACTIONS: tuple[str, ...] = ("deactivate", "alert")
SEVERITY_NAMES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")  # core.model.alerts.Severity
MAX_SUMMARY_REGIONS = 5
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")

DEFAULT_GROUP_NAME = "IAMGuardSecuredUsers"
DEFAULT_POLICY_NAME = "IAMGuardSecureIAMPolicy"
DEFAULT_EXEMPT_TAG_KEY = "iam-guard:exempt"
DEFAULT_OWNER_TAG_KEY = "iam-guard:owner"
DEFAULT_WARNING_DAYS = (7, 3, 1)

# IAM's own name rules (CreateUser / CreateGroup / CreatePolicy).
_IAM_NAME = re.compile(r"^[\w+=,.@-]+$", re.ASCII)  # IAM names are ASCII
_VPCE_ID = re.compile(r"^vpce-[0-9a-f]{8,17}$")
_VPC_ID = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")  # Organizations' own pattern for an organization ID
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")  # spaces, never line breaks or tabs
_SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$", re.ASCII)
# An SQS queue URL: AWS's (https://sqs.<region>.amazonaws.com/<account>/<name>) or, for emulators,
# http(s)://<host[:port]>/<account>/<name>. The queue name: 1-80 of letters, digits, "-" and "_".
QUEUE_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?/\d{12}/[A-Za-z0-9_-]{1,80}$", re.ASCII)
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$", re.ASCII)

# Environment variable -> settings field. The Lambda functions and template.yaml use exactly these.
ENV_VARS: dict[str, str] = {
    "IAM_GUARD_ALLOWED_CIDRS": "allowed_cidrs",
    "IAM_GUARD_ALLOWED_VPCE_IDS": "allowed_vpce_ids",
    "IAM_GUARD_ALLOWED_VPCE_ORG": "allowed_vpce_org",
    "IAM_GUARD_ALLOWED_VPCE_ACCOUNTS": "allowed_vpce_accounts",
    "IAM_GUARD_ALLOWED_VPCS": "allowed_vpcs",
    "IAM_GUARD_IP_RESTRICTION": "ip_restriction",
    "IAM_GUARD_MFA_MODE": "mfa_mode",
    "IAM_GUARD_GROUP_NAME": "group_name",
    "IAM_GUARD_POLICY_NAME": "policy_name",
    "IAM_GUARD_EXEMPT_USERS": "exempt_users",
    "IAM_GUARD_EXEMPT_TAG_KEY": "exempt_tag_key",
    "IAM_GUARD_GRACE_DAYS": "grace_days",
    "IAM_GUARD_DRY_RUN": "dry_run",
    "IAM_GUARD_REMEDIATE": "remediate",
    "IAM_GUARD_QUIET_RUNS": "quiet_runs",
    "IAM_GUARD_SNS_TOPIC_ARN": "sns_topic_arn",
    "IAM_GUARD_SLACK_SECRET_ARN": "slack_secret_arn",
    "IAM_GUARD_STACK_NAME": "stack_name",
    "IAM_GUARD_MAX_MFA_AGE_HOURS": "max_mfa_age_hours",
    "IAM_GUARD_SECURITY_HUB": "security_hub",
    "IAM_GUARD_UNUSED_DAYS": "unused_days",
    "IAM_GUARD_KEY_MAX_AGE_DAYS": "key_max_age_days",
    "IAM_GUARD_REMEDIATE_UNUSED_KEYS": "remediate_unused_keys",
    "IAM_GUARD_REMEDIATE_SERVICE_CREDENTIALS": "remediate_service_credentials",
    "IAM_GUARD_ORG_EXCLUDE_ACCOUNTS": "org_exclude_accounts",
    "IAM_GUARD_OWNER_TAG_KEY": "owner_tag_key",
    "IAM_GUARD_DEFAULT_OWNER": "default_owner",
    "IAM_GUARD_WARNING_DAYS": "warning_days",
    "IAM_GUARD_LEAKED_KEY_ACTION": "leaked_key_action",
    "IAM_GUARD_LEAKED_KEY_SUMMARY_REGIONS": "leaked_key_summary_regions",
    "IAM_GUARD_MANAGE_PASSWORD_POLICY": "manage_password_policy",
    "IAM_GUARD_PASSWORD_MAX_AGE_DAYS": "password_max_age_days",
    "IAM_GUARD_PARTITION": "partition",
    "IAM_GUARD_SSH_KEY_AUDIT_USERS_PER_RUN": "ssh_key_audit_users_per_run",
    "IAM_GUARD_NOTIFICATIONS_TABLE": "notifications_table",
    "IAM_GUARD_OWNER_EMAIL_SENDER": "owner_email_sender",
    "IAM_GUARD_SLACK_BOT_TOKEN_SECRET_ARN": "slack_bot_token_secret_arn",
    "IAM_GUARD_TEAMS_WEBHOOK_SECRET_ARN": "teams_webhook_secret_arn",
    "IAM_GUARD_WEBHOOK_SECRET_ARN": "webhook_secret_arn",
    "IAM_GUARD_TEAMS_MIN_SEVERITY": "teams_min_severity",
    "IAM_GUARD_WEBHOOK_MIN_SEVERITY": "webhook_min_severity",
    "IAM_GUARD_ALERT_DLQ_URL": "alert_dlq_url",
    "IAM_GUARD_GUARDDUTY_FINDINGS": "guardduty_findings",
    "IAM_GUARD_GUARDDUTY_MIN_SEVERITY": "guardduty_min_severity",
}
_LIST_FIELDS = {
    "allowed_cidrs",
    "allowed_vpce_ids",
    "allowed_vpce_accounts",
    "allowed_vpcs",
    "exempt_users",
    "org_exclude_accounts",
    "warning_days",
    "leaked_key_summary_regions",
}
_BOOL_FIELDS = {
    "ip_restriction",
    "dry_run",
    "remediate",
    "quiet_runs",
    "security_hub",
    "remediate_unused_keys",
    "remediate_service_credentials",
    "manage_password_policy",
    "guardduty_findings",
}
# Credential hygiene thresholds, in days (0 turns the check off); the template's MinValue/MaxValue match.
MAX_HYGIENE_DAYS = 3650
MAX_SSH_AUDIT_USERS = 5000  # IAM's quota of users per account: every user every run


@dataclass(frozen=True)
class Settings:
    """Everything that shapes the guardrail and the jobs around it.

    Build it with ``build_settings`` (or ``settings_from_env``): every field is checked and normalised in
    ``__post_init__`` (``_CHECKS``), so a ``Settings`` that exists is valid, ``dataclasses.replace``
    included.
    """

    allowed_cidrs: tuple[str, ...] = ()
    allowed_vpce_ids: tuple[str, ...] = ()
    # Any VPC endpoint of this organisation / owned by these accounts (aws:VpceOrgID / aws:VpceAccount,
    # for the services that populate them; elsewhere the endpoint IDs above are still needed).
    allowed_vpce_org: str | None = None
    allowed_vpce_accounts: tuple[str, ...] = ()
    # Any request through a VPC endpoint from these VPCs (aws:SourceVpc; present only on requests through
    # an endpoint): the VPC, not each of its endpoints, is the allowed network.
    allowed_vpcs: tuple[str, ...] = ()
    ip_restriction: bool = True
    mfa_mode: MfaMode = "strict"
    group_name: str = DEFAULT_GROUP_NAME
    policy_name: str = DEFAULT_POLICY_NAME
    exempt_users: frozenset[str] = frozenset()
    exempt_tag_key: str = DEFAULT_EXEMPT_TAG_KEY
    grace_days: int = 7
    dry_run: bool = False
    remediate: bool = False
    quiet_runs: bool = False
    sns_topic_arn: str | None = None
    slack_secret_arn: str | None = None
    stack_name: str | None = None  # IAM Guard's own stack: the guardrail then protects its resources
    max_mfa_age_hours: int | None = None  # deny (all but self-service) older MFA; 1 to 8760
    # A member account of an organisation (org mode): the guardrail protects the spoke's roles and rules
    # instead of a stack's resources. Set by core.org (member_settings), never from the environment.
    protect_spoke: bool = False
    # Organizations mode too: the sweep and the enforcer keep the principal tag iam-guard:enrolled=true on
    # exactly the group's members (the IAMGuardDenyUnenrolled SCP reads it). Set by member_settings.
    tag_enrolled: bool = False
    security_hub: bool = False  # the sweep imports its findings into the account's Security Hub
    # Credential hygiene (sweep): console password / active key unused for this many days or more;
    # active key created more than this many days ago. 0 turns the check off.
    unused_days: int = 45
    key_max_age_days: int = 90
    remediate_unused_keys: bool = False  # its own switch: Remediate=true stacks do not start on upgrade
    # Deactivate (never delete) the active service-specific credentials of guarded users past grace, after
    # a live re-read (``core.sweep.run.deactivate_service_credentials``); its own switch, like the above.
    remediate_service_credentials: bool = False
    # Organizations mode (the hub): member accounts IAM Guard leaves alone - not swept, events ignored.
    org_exclude_accounts: frozenset[str] = frozenset()
    # Owners (core.model.owners): the tag naming a user's owner, the stack's fallback owner, and the days
    # before a planned action on which the owner is warned (core.sweep.notifications).
    owner_tag_key: str = DEFAULT_OWNER_TAG_KEY
    default_owner: str | None = None
    warning_days: tuple[int, ...] = DEFAULT_WARNING_DAYS
    # Channels (core.report.webhook): Secrets Manager secrets, JSON {"url": ...} (Teams) and
    # {"url": ..., "signing_key": ...} (the signed generic webhook); the stack's TeamsWebhookSecretArn and
    # WebhookSecretArn, the CLI's flags.
    teams_webhook_secret_arn: str | None = None
    webhook_secret_arn: str | None = None
    # Routing by severity: only alerts at least this severe go to Teams / the webhook.
    teams_min_severity: str = "info"
    webhook_min_severity: str = "info"
    # Where an alert Teams or the webhook did not take after the retries is kept (core.report.dead_letter):
    # the stack's <stack>_alert-dlq (created with either channel); empty = not kept.
    alert_dlq_url: str | None = None
    # Owner delivery (core.sweep.owner_delivery): the SES sender identity (empty = no owner e-mail), the
    # Slack bot token's secret {"token": ...}, and the state table of stages sent (the stack's
    # <stack>_notifications; the CLI's --state-table).
    owner_email_sender: str | None = None
    slack_bot_token_secret_arn: str | None = None
    notifications_table: str | None = None
    # Secrets Manager secrets IAM Guard depends on (alert channels' webhooks and tokens), by ARN: the
    # guardrail denies guarded users everything but reading their metadata, and every call is watched.
    # The CLI's --protect-secret; a stack protects its channels' secrets (``channel_secret_arns``), which
    # protected_secret_arns adds.
    protect_secrets: tuple[str, ...] = ()

    @property
    def channel_secret_arns(self) -> tuple[str, ...]:
        """The secrets the configured channels read (Slack webhook and bot, Teams, the webhook)."""
        given = (
            self.slack_secret_arn,
            self.slack_bot_token_secret_arn,
            self.teams_webhook_secret_arn,
            self.webhook_secret_arn,
        )
        return tuple(dict.fromkeys(arn for arn in given if arn))

    @property
    def protected_secret_arns(self) -> tuple[str, ...]:
        """The secrets to protect: ``protect_secrets`` and every channel's secret, each once."""
        return tuple(dict.fromkeys((*self.protect_secrets, *self.channel_secret_arns)))

    # A leaked access key that AWS corroborates (core.enforce.leak): made Inactive, or only alerted about.
    leaked_key_action: LeakedKeyAction = "deactivate"
    # Regions whose CloudTrail the leaked-key summary reads besides us-east-1 (none: the key's last-used one).
    leaked_key_summary_regions: tuple[str, ...] = ()
    # The account password policy (sweep): set it when missing or weak (``core.sweep.account_checks``);
    # MaxPasswordAge only from ``password_max_age_days`` (0: passwords do not expire, IAM.17 not met).
    manage_password_policy: bool = False
    password_max_age_days: int = 0
    # The AWS partition the account is in (aws, aws-cn, aws-us-gov...): the ARNs the guardrail and the
    # code name. The template passes AWS::Partition; the CLI derives it from the region.
    partition: str = "aws"
    # SSH public keys (CodeCommit) are per user only: read ListSSHPublicKeys for about this many users a
    # run, a deterministic subset by day (``core.sweep.account_checks.ssh_audit_users``); 0: never read.
    ssh_key_audit_users_per_run: int = 0
    # GuardDuty findings on an IAM user's key (core.enforce.guardduty): handled only when on, and only
    # at or above this severity (GuardDuty's 1.0-10.0; 7.0 is "High").
    guardduty_findings: bool = False
    guardduty_min_severity: float = 7.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name, check in _CHECKS.items():
            given = getattr(self, name)
            try:
                object.__setattr__(self, name, check(given))
            except ValueError as exc:
                problems.append(_problem(name, str(exc), given))
        networks = (
            self.allowed_cidrs,
            self.allowed_vpce_ids,
            self.allowed_vpce_org,
            self.allowed_vpce_accounts,
            self.allowed_vpcs,
        )
        if not problems and self.ip_restriction and not any(networks):
            problems.append(
                "invalid settings: no allowed network: give at least one allowed CIDR or VPC endpoint, "
                "or turn the network restriction off explicitly (--no-ip-restriction)"
            )
        if not problems and self.owner_tag_key.casefold() == self.exempt_tag_key.casefold():
            problems.append(
                f"invalid setting owner_tag_key: {self.owner_tag_key!r} is the exemption tag key; "
                "the owner needs its own tag key"
            )
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise SettingsError(problems[0] + more)

    @property
    def guard_tag_keys(self) -> tuple[str, ...]:
        """Every tag key IAM Guard reads or writes on a user: guarded users may not touch any of them.

        The exemption and owner keys (settings; distinct in any letter case, ``__post_init__``), the
        enrolled key (the IAMGuardDenyUnenrolled SCP's) and the leaked-key responder's exposed-keys key.
        """
        fixed = tuple(
            k
            for k in (naming.ENROLLED_TAG_KEY, naming.EXPOSED_KEYS_TAG)
            if k.casefold() not in {self.exempt_tag_key.casefold(), self.owner_tag_key.casefold()}
        )
        return (self.exempt_tag_key, self.owner_tag_key, *fixed)

    def is_listed_exempt(self, user_name: str) -> bool:
        """IAM user names are unique without regard to case: so is the exemption list."""
        return user_name.casefold() in {u.casefold() for u in self.exempt_users}


# --- the checks: each takes the value given and returns it typed and normalised, or raises ValueError --

Check = Callable[[Any], Any]


def _text(value: Any, shortest: int = 0, longest: int = 10**6) -> str:
    if not isinstance(value, str):
        raise ValueError("should be a valid string")
    if len(value) < shortest:
        raise ValueError(f"should have at least {shortest} character{'s' if shortest > 1 else ''}")
    if len(value) > longest:
        raise ValueError(f"should have at most {longest} characters")
    return value


def _integer(smallest: int, largest: int) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("should be a valid integer")
        try:
            number = int(value)
        except ValueError:
            raise ValueError("should be a valid integer, unable to parse string as an integer") from None
        if number < smallest:
            raise ValueError(f"should be greater than or equal to {smallest}")
        if number > largest:
            raise ValueError(f"should be less than or equal to {largest}")
        return number

    return check


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("should be a valid boolean (true or false)")


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, tuple | list | set | frozenset):
        raise ValueError("should be a list of strings")
    for item in value:
        _text(item)
    return tuple(value)


def _optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def _cidrs(value: Any) -> tuple[str, ...]:
    normalized = tuple(dict.fromkeys(normalize_cidr(c) for c in _strings(value)))
    _refuse_everything_together(normalized)
    return normalized


def _vpce_ids(value: Any) -> tuple[str, ...]:
    ids = _strings(value)
    for vpce in ids:
        if not _VPCE_ID.match(vpce):
            raise ValueError(f"{vpce!r} is not a VPC endpoint ID (expected vpce- and 8 to 17 hex digits)")
    return tuple(dict.fromkeys(ids))


def _vpc_ids(value: Any) -> tuple[str, ...]:
    ids = _strings(value)
    for vpc in ids:
        if not _VPC_ID.match(vpc):
            raise ValueError(f"{vpc!r} is not a VPC ID (expected vpc- and 8 or 17 hex digits)")
    return tuple(dict.fromkeys(ids))


def _account_ids_in_order(value: Any) -> tuple[str, ...]:
    ids = _strings(value)
    for account in ids:
        if not naming.ACCOUNT_ID.match(account):
            raise ValueError(f"{account!r} is not an AWS account ID (12 digits)")
    return tuple(dict.fromkeys(ids))


def _number(smallest: float, largest: float) -> Check:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("should be a number")
        try:
            number = float(value)
        except ValueError:
            raise ValueError("should be a number, unable to parse string as a number") from None
        if not smallest <= number <= largest:  # NaN fails too
            raise ValueError(f"should be from {smallest} to {largest}")
        return number

    return check


def _one_of(allowed: tuple[str, ...]) -> Check:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError("should be " + " or ".join(repr(a) for a in allowed))
        return str(value)

    return check


def _regions(most: int) -> Check:
    def check(value: Any) -> tuple[str, ...]:
        regions = tuple(dict.fromkeys(_strings(value)))
        for region in regions:
            if not _REGION.match(region):
                raise ValueError(f"{region!r} is not an AWS region name (e.g. eu-west-1)")
        if len(regions) > most:
            raise ValueError(f"{len(regions)} regions given, at most {most}")
        return regions

    return check


def _mfa_mode(value: Any) -> str:
    if value not in ("strict", "console"):
        raise ValueError("should be 'strict' or 'console'")
    return str(value)


def _iam_name(value: Any) -> str:
    name = _text(value, 1, 128)
    if not _IAM_NAME.match(name):
        raise ValueError(f"{name!r} may contain only letters, digits and +=,.@_-")
    return name


def _user_names(value: Any) -> frozenset[str]:
    users = frozenset(_strings(value))
    for user in sorted(users):
        if not _IAM_NAME.match(user) or len(user) > 64:
            raise ValueError(f"{user!r} is not a valid IAM user name")
    return users


def _tag_key(value: Any) -> str:
    key = _text(value)
    if not _TAG_KEY.match(key) or key.lower().startswith("aws:"):
        raise ValueError(f"{key!r} is not a valid IAM tag key (1-128 characters, no 'aws:' prefix)")
    return key


def _matching(pattern: re.Pattern[str], what: str) -> Check:
    def check(value: Any) -> str:
        if not pattern.match(_text(value)):
            raise ValueError(f"{value!r} is not {what}")
        return str(value)

    return check


def _secret_arns(value: Any) -> tuple[str, ...]:
    check = _matching(_SECRET_ARN, "a Secrets Manager secret ARN")
    return tuple(dict.fromkeys(check(arn) for arn in _strings(value)))


def _account_ids(value: Any) -> frozenset[str]:
    accounts = frozenset(_strings(value))
    for account in sorted(accounts):
        if not naming.ACCOUNT_ID.match(account):
            raise ValueError(f"{account!r} is not an AWS account ID (12 digits)")
    return accounts


def _partition(value: Any) -> str:
    if value not in naming.PARTITIONS:
        raise ValueError(f"should be one of {', '.join(naming.PARTITIONS)}")
    return str(value)


def _stack_name(value: Any) -> str:
    name = _text(value)
    if not naming.STACK_NAME.match(name):
        raise ValueError(
            f"{name!r} is not a valid stack name (a letter, then letters, digits and hyphens, "
            f"at most {naming.MAX_STACK_NAME} characters)"
        )
    return name


def _default_owner(value: Any) -> str:
    from core.model.owners import parse_owner  # the owner's rules live with the owner model

    text = _text(value).strip()
    parse_owner(text)  # raises ValueError naming what is wrong
    return text


def _email_sender(value: Any) -> str:
    from core.model.owners import EMAIL

    text = _text(value).strip()
    if not EMAIL.match(text):
        raise ValueError(f"{text!r} is not an e-mail address (the SES identity mail is sent from)")
    return text


def _warning_days(value: Any) -> tuple[int, ...]:
    items = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(_strings_or_ints(value))
    days = [_integer(1, 365)(item) for item in items if item != ""]
    if not days:
        raise ValueError("should list at least one day (e.g. 7,3,1)")
    return tuple(sorted(set(days), reverse=True))


def _strings_or_ints(value: Any) -> tuple[Any, ...]:
    if isinstance(value, tuple | list) and all(isinstance(v, int | str) for v in value):
        return tuple(value)
    raise ValueError("should be a comma-separated list of whole days (e.g. 7,3,1)")


# Field -> its check, in field order (the first problem reported is the first field's).
_CHECKS: dict[str, Check] = {
    "allowed_cidrs": _cidrs,
    "allowed_vpce_ids": _vpce_ids,
    "allowed_vpce_org": _optional(
        _matching(_ORG_ID, "an organization ID (o- and 10 to 32 letters or digits)")
    ),
    "allowed_vpce_accounts": _account_ids_in_order,
    "allowed_vpcs": _vpc_ids,
    "ip_restriction": _boolean,
    "mfa_mode": _mfa_mode,
    "partition": _partition,
    "group_name": _iam_name,
    "policy_name": _iam_name,
    "exempt_users": _user_names,
    "exempt_tag_key": _tag_key,
    "grace_days": _integer(0, 365),
    "dry_run": _boolean,
    "remediate": _boolean,
    "quiet_runs": _boolean,
    "sns_topic_arn": _optional(_matching(_SNS_TOPIC_ARN, "an SNS topic ARN")),
    "slack_secret_arn": _optional(_matching(_SECRET_ARN, "a Secrets Manager secret ARN")),
    "stack_name": _optional(_stack_name),
    "max_mfa_age_hours": _optional(_integer(1, 8760)),
    "protect_spoke": _boolean,
    "tag_enrolled": _boolean,
    "security_hub": _boolean,
    "unused_days": _integer(0, MAX_HYGIENE_DAYS),
    "key_max_age_days": _integer(0, MAX_HYGIENE_DAYS),
    "remediate_unused_keys": _boolean,
    "remediate_service_credentials": _boolean,
    "org_exclude_accounts": _account_ids,
    "owner_tag_key": _tag_key,
    "default_owner": _optional(_default_owner),
    "warning_days": _warning_days,
    "teams_webhook_secret_arn": _optional(_matching(_SECRET_ARN, "a Secrets Manager secret ARN")),
    "webhook_secret_arn": _optional(_matching(_SECRET_ARN, "a Secrets Manager secret ARN")),
    "teams_min_severity": _one_of(SEVERITY_NAMES),
    "webhook_min_severity": _one_of(SEVERITY_NAMES),
    "alert_dlq_url": _optional(
        _matching(QUEUE_URL, "an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)")
    ),
    "owner_email_sender": _optional(_email_sender),
    "slack_bot_token_secret_arn": _optional(_matching(_SECRET_ARN, "a Secrets Manager secret ARN")),
    "notifications_table": _optional(
        _matching(_TABLE_NAME, "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)")
    ),
    "protect_secrets": _secret_arns,
    "leaked_key_action": _one_of(LEAKED_KEY_ACTIONS),
    "leaked_key_summary_regions": _regions(MAX_SUMMARY_REGIONS),
    "manage_password_policy": _boolean,
    "password_max_age_days": _integer(0, 1095),  # IAM's MaxPasswordAge: 1 to 1095
    "ssh_key_audit_users_per_run": _integer(0, MAX_SSH_AUDIT_USERS),
    "guardduty_findings": _boolean,
    "guardduty_min_severity": _number(1.0, 10.0),
}
SETTINGS_FIELDS = tuple(f.name for f in fields(Settings))


def normalize_cidr(value: str) -> str:
    """Validate one CIDR (IPv4 or IPv6) and return its canonical text; refuse 'everything' ranges."""
    text = value.strip()
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        reason = str(exc)
        if "host bits set" in reason:
            fixed = ipaddress.ip_network(text, strict=False)
            raise ValueError(f"{value!r} has host bits set (did you mean {fixed}?)") from None
        raise ValueError(f"{value!r} is not a valid IPv4 or IPv6 CIDR") from None
    if network.prefixlen == 0:
        raise ValueError(f"{value!r} allows every address, which is no restriction at all")
    return str(network)  # a bare address becomes an explicit /32 or /128


def _refuse_everything_together(cidrs: tuple[str, ...]) -> None:
    """0.0.0.0/1 + 128.0.0.0/1 is as open as 0.0.0.0/0: refuse ranges that together cover a family."""
    networks = [ipaddress.ip_network(c) for c in cidrs]
    for family in (4, 6):
        merged = ipaddress.collapse_addresses([n for n in networks if n.version == family])  # type: ignore[type-var,misc]
        if any(n.prefixlen == 0 for n in merged):
            raise ValueError(f"{', '.join(cidrs)} together allow every IPv{family} address")


def build_settings(**values: Any) -> Settings:
    """Build settings from keyword values (None means not given); one ``SettingsError`` line when invalid."""
    clean = {k: v for k, v in values.items() if v is not None}
    unknown = sorted(clean.keys() - set(SETTINGS_FIELDS))
    if unknown:
        raise SettingsError(f"invalid setting {unknown[0]}: not a setting (extra inputs are not permitted)")
    return Settings(**clean)


def validate_setting(field: str, value: Any) -> Any:
    """One setting checked on its own: the model's rules and one-line error, without the other settings."""
    return getattr(build_settings(ip_restriction=False, **{field: value}), field)


def settings_from_env(environ: Mapping[str, str]) -> Settings:
    """Build settings from the ``IAM_GUARD_*`` environment variables (the Lambda functions' source)."""
    values: dict[str, Any] = {}
    for var, field in ENV_VARS.items():
        raw = environ.get(var)
        if raw is None or raw.strip() == "":
            continue
        if field in _LIST_FIELDS:
            values[field] = tuple(item.strip() for item in raw.split(",") if item.strip())
        elif field in _BOOL_FIELDS:
            values[field] = _parse_bool(var, raw)
        else:
            values[field] = raw.strip()
    return build_settings(**values)


def _parse_bool(var: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise SettingsError(f"invalid setting {var}: {raw!r} is not true or false")


def _problem(field: str, message: str, value: Any) -> str:
    """One line naming the setting, what is wrong, and the value when the message does not show it."""
    if isinstance(value, str | int | float) and repr(value) not in message:
        message += f" (got {_shorten(value)})"
    elif isinstance(value, tuple | list | frozenset | set) and not any(repr(v) in message for v in value):
        message += f" (got {_shorten(', '.join(map(str, value)))})"
    return f"invalid setting {field}: {message}"


def _shorten(value: str | int | float, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]} ({len(str(value))} characters)"
