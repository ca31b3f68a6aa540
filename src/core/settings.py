"""The one validated settings model, shared by the Lambda functions (environment) and the CLI (flags).

Settings are validated once, when built; every bad value is reported as one line naming the setting,
the value and what is wrong. Core code receives a ``Settings`` instance and never reads ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core import naming
from core.errors import SettingsError

MfaMode = Literal["strict", "console"]

DEFAULT_GROUP_NAME = "IAMGuardSecuredUsers"
DEFAULT_POLICY_NAME = "IAMGuardSecureIAMPolicy"
DEFAULT_EXEMPT_TAG_KEY = "iam-guard:exempt"

# IAM's own name rules (CreateUser / CreateGroup / CreatePolicy).
_IAM_NAME = re.compile(r"^[\w+=,.@-]+$", re.ASCII)  # IAM names are ASCII
_VPCE_ID = re.compile(r"^vpce-[0-9a-f]{8,17}$")
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")  # spaces, never line breaks or tabs
_SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$")

# Environment variable -> settings field. The Lambda functions and template.yaml use exactly these.
ENV_VARS: dict[str, str] = {
    "IAM_GUARD_ALLOWED_CIDRS": "allowed_cidrs",
    "IAM_GUARD_ALLOWED_VPCE_IDS": "allowed_vpce_ids",
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
}
_LIST_FIELDS = {"allowed_cidrs", "allowed_vpce_ids", "exempt_users"}
_BOOL_FIELDS = {
    "ip_restriction",
    "dry_run",
    "remediate",
    "quiet_runs",
    "security_hub",
    "remediate_unused_keys",
}
# Credential hygiene thresholds, in days (0 turns the check off); the template's MinValue/MaxValue match.
MAX_HYGIENE_DAYS = 3650


class Settings(BaseModel):
    """Everything that shapes the guardrail and the jobs around it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_cidrs: tuple[str, ...] = ()
    allowed_vpce_ids: tuple[str, ...] = ()
    ip_restriction: bool = True
    mfa_mode: MfaMode = "strict"
    group_name: str = Field(DEFAULT_GROUP_NAME, min_length=1, max_length=128)
    policy_name: str = Field(DEFAULT_POLICY_NAME, min_length=1, max_length=128)
    exempt_users: frozenset[str] = frozenset()
    exempt_tag_key: str = DEFAULT_EXEMPT_TAG_KEY
    grace_days: int = Field(7, ge=0, le=365)
    dry_run: bool = False
    remediate: bool = False
    quiet_runs: bool = False
    sns_topic_arn: str | None = None
    slack_secret_arn: str | None = None
    stack_name: str | None = None  # IAM Guard's own stack: the guardrail then protects its resources
    max_mfa_age_hours: int | None = Field(None, ge=1, le=8760)  # deny (all but self-service) older MFA
    # A member account of an organisation (org mode): the guardrail protects the spoke's roles and rules
    # instead of a stack's resources. Set by core.org (member_settings), never from the environment.
    protect_spoke: bool = False
    security_hub: bool = False  # the sweep imports its findings into the account's Security Hub
    # Credential hygiene (sweep): console password / active key unused for this many days or more;
    # active key created more than this many days ago. 0 turns the check off.
    unused_days: int = Field(45, ge=0, le=MAX_HYGIENE_DAYS)
    key_max_age_days: int = Field(90, ge=0, le=MAX_HYGIENE_DAYS)
    remediate_unused_keys: bool = False  # its own switch: Remediate=true stacks do not start on upgrade

    @field_validator("allowed_cidrs")
    @classmethod
    def _valid_cidrs(cls, cidrs: tuple[str, ...]) -> tuple[str, ...]:
        normalized = tuple(dict.fromkeys(normalize_cidr(c) for c in cidrs))
        _refuse_everything_together(normalized)
        return normalized

    @field_validator("allowed_vpce_ids")
    @classmethod
    def _valid_vpce_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        for vpce in ids:
            if not _VPCE_ID.match(vpce):
                raise ValueError(f"{vpce!r} is not a VPC endpoint ID (expected vpce- and 8 to 17 hex digits)")
        return tuple(dict.fromkeys(ids))

    @field_validator("group_name", "policy_name")
    @classmethod
    def _valid_iam_name(cls, name: str) -> str:
        if not _IAM_NAME.match(name):
            raise ValueError(f"{name!r} may contain only letters, digits and +=,.@_-")
        return name

    @field_validator("exempt_users")
    @classmethod
    def _valid_user_names(cls, users: frozenset[str]) -> frozenset[str]:
        for user in users:
            if not _IAM_NAME.match(user) or len(user) > 64:
                raise ValueError(f"{user!r} is not a valid IAM user name")
        return users

    @field_validator("exempt_tag_key")
    @classmethod
    def _valid_tag_key(cls, key: str) -> str:
        if not _TAG_KEY.match(key) or key.lower().startswith("aws:"):
            raise ValueError(f"{key!r} is not a valid IAM tag key (1-128 characters, no 'aws:' prefix)")
        return key

    @field_validator("sns_topic_arn")
    @classmethod
    def _valid_topic_arn(cls, arn: str | None) -> str | None:
        if arn is not None and not _SNS_TOPIC_ARN.match(arn):
            raise ValueError(f"{arn!r} is not an SNS topic ARN")
        return arn

    @field_validator("slack_secret_arn")
    @classmethod
    def _valid_secret_arn(cls, arn: str | None) -> str | None:
        if arn is not None and not _SECRET_ARN.match(arn):
            raise ValueError(f"{arn!r} is not a Secrets Manager secret ARN")
        return arn

    @field_validator("stack_name")
    @classmethod
    def _valid_stack_name(cls, name: str | None) -> str | None:
        if name is not None and not naming.STACK_NAME.match(name):
            raise ValueError(
                f"{name!r} is not a valid stack name (a letter, then letters, digits and hyphens, "
                f"at most {naming.MAX_STACK_NAME} characters)"
            )
        return name

    @model_validator(mode="after")
    def _network_is_restricted_somehow(self) -> Settings:
        if self.ip_restriction and not (self.allowed_cidrs or self.allowed_vpce_ids):
            raise ValueError(
                "no allowed network: give at least one allowed CIDR or VPC endpoint, "
                "or turn the network restriction off explicitly (--no-ip-restriction)"
            )
        return self

    def is_listed_exempt(self, user_name: str) -> bool:
        """IAM user names are unique without regard to case: so is the exemption list."""
        return user_name.casefold() in {u.casefold() for u in self.exempt_users}


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
    """Build settings from keyword values, turning validation errors into one ``SettingsError`` line."""
    clean = {k: v for k, v in values.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


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


def _one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"] if not isinstance(p, int))
    message = str(first["msg"]).removeprefix("Value error, ")
    value = first.get("input")
    # Pydantic's own messages ("Input should be ...") do not name the value: add it.
    if field and isinstance(value, str | int | float) and repr(value) not in message:
        message += f" (got {_shorten(value)})"
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"invalid setting {field}: {message}{extra}" if field else f"invalid settings: {message}{extra}"


def _shorten(value: str | int | float, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]} ({len(str(value))} characters)"
