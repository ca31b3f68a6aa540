"""What ``--from-stack`` takes from a deployed IAM Guard stack: its guardrail and sweep settings. Pure.

The stack's parameters reach its functions as the ``IAM_GUARD_*`` variables of ``ENV_VARS`` (template.yaml's
``Globals``); the same parameters, read back with ``DescribeStacks``, are parsed here exactly as the
functions parse their environment (``settings_from_env``), so the CLI sees the settings the functions run
with. Taken: the networks, the MFA mode and age, the group and policy names, the exemptions and the
owner tag key, the grace and credential-hygiene days, the leaked-key summary regions, and the stack's name
(``stack_name``). The alert channels' secrets (``SECRET_PARAMETERS``, each where the stack has it) become
``protect_secrets``: the deployed guardrail protects them, so a policy rendered from the stack does too;
they are never used to send. The notifications table (output ``NotificationsTableName``) becomes the
``--state-table`` of ``--send-notifications``. Never taken: the write switches (``DryRun``, ``Remediate``,
``RemediateUnusedKeys``, ``RemediateServiceCredentials``) and delivery (topic, Slack, Teams, webhook, SES
sender, Security Hub), which stay flags: reading a stack must never make a command write or send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.model.errors import InvalidInputError, SettingsError
from core.model.settings import ENV_VARS, build_settings, settings_from_env

# Template parameter -> settings field: what --from-stack takes.
STACK_PARAMETERS: dict[str, str] = {
    "AllowedCIDRs": "allowed_cidrs",
    "AllowedVpceIds": "allowed_vpce_ids",
    "AllowedVpceOrgId": "allowed_vpce_org",
    "AllowedVpceAccounts": "allowed_vpce_accounts",
    "AllowedVPCs": "allowed_vpcs",
    "IpRestriction": "ip_restriction",
    "MfaMode": "mfa_mode",
    "MaxMfaAgeHours": "max_mfa_age_hours",
    "GroupName": "group_name",
    "PolicyName": "policy_name",
    "ExemptUsers": "exempt_users",
    "ExemptTagKey": "exempt_tag_key",
    "OwnerTagKey": "owner_tag_key",
    "GraceDays": "grace_days",
    "UnusedDays": "unused_days",
    "KeyMaxAgeDays": "key_max_age_days",
    "LeakedKeySummaryRegions": "leaked_key_summary_regions",
}
# Secrets Manager ARNs of the stack's alert channels: taken as ``protect_secrets`` (what the deployed
# guardrail protects), never as a channel. A stack without one of these parameters (an older template) or
# with it empty adds nothing.
SECRET_PARAMETERS = ("SlackSecretArn", "SlackBotTokenSecretArn", "TeamsWebhookSecretArn", "WebhookSecretArn")
# Never taken from the stack, whatever it says (the write switches and delivery stay flags).
NOT_TAKEN = frozenset(
    {
        "DryRun",
        "Remediate",
        "RemediateUnusedKeys",
        "RemediateServiceCredentials",
        "AlertEmail",
        "SlackSecretArn",
        "SecurityHub",
        "OwnerEmailSender",
        "SlackBotTokenSecretArn",
        "TeamsWebhookSecretArn",
        "WebhookSecretArn",
    }
)
# Secrets of the stack's channels: protected by its guardrail, so by the guardrail --from-stack renders.
SECRET_PARAMETERS = ("SlackSecretArn", "SlackBotTokenSecretArn", "TeamsWebhookSecretArn", "WebhookSecretArn")
TABLE_OUTPUT = "NotificationsTableName"
# Parameters every IAM Guard stack has: a stack without one of them is not IAM Guard.
IDENTIFYING = ("GroupName", "PolicyName", "MfaMode", "ExemptTagKey", "DryRun")

_ENV_OF_FIELD = {field: var for var, field in ENV_VARS.items()}


def settings_of_stack(
    stack_name: str, parameters: Mapping[str, str], outputs: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The settings fields ``--from-stack`` takes from a stack with these parameter values.

    A stack without IAM Guard's parameters, or with values IAM Guard would refuse, is one
    ``InvalidInputError`` line naming the stack.
    """
    missing = [name for name in IDENTIFYING if name not in parameters]
    if missing:
        raise InvalidInputError(
            f"stack {stack_name} is not an IAM Guard stack (it has no {missing[0]} parameter)"
        )
    env = {
        _ENV_OF_FIELD[field]: parameters[name]
        for name, field in STACK_PARAMETERS.items()
        if name in parameters
    }
    env[_ENV_OF_FIELD["stack_name"]] = stack_name
    try:
        settings = settings_from_env(env)
    except SettingsError as exc:
        raise InvalidInputError(f"stack {stack_name}: {exc}") from None
    taken = {*STACK_PARAMETERS.values(), "stack_name"}
    given = {_field for name, _field in STACK_PARAMETERS.items() if name in parameters} | {"stack_name"}
    taken_fields = {field: getattr(settings, field) for field in sorted(taken & given)}
    secrets = tuple(
        parameters[name].strip() for name in SECRET_PARAMETERS if parameters.get(name, "").strip()
    )
    table = (outputs or {}).get(TABLE_OUTPUT, "").strip()
    try:
        extra = build_settings(
            ip_restriction=False, protect_secrets=secrets, notifications_table=table or None
        )
    except SettingsError as exc:
        raise InvalidInputError(f"stack {stack_name}: {exc}") from None
    if secrets:
        taken_fields["protect_secrets"] = extra.protect_secrets
    if table:
        taken_fields["notifications_table"] = extra.notifications_table
    return taken_fields
