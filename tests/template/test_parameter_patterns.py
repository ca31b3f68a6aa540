"""Every AllowedPattern of template.yaml's parameters, with values it must accept and values it must refuse.

CloudFormation refuses a parameter value its AllowedPattern does not match (Java regular expressions,
whole value). A pattern that matched anything (``^.*$``) would accept every value: the refusals below are
what makes a test fail then. Patterns are evaluated as Java does: ``\\w``, ``\\d`` and ``\\s`` are ASCII
only (Python's ``re.ASCII``), and the whole value must match.

Where a parameter is a setting, the settings model (core.model.settings, the same parsing the functions
and the custom resource use) agrees: what the pattern accepts it accepts, what the pattern refuses it
refuses. A
few values only the model can judge (a CIDR's host bits, a prefix over 32, "every address"): the pattern
lets them through and the custom resource fails the deploy with the model's one-line reason.
"""

from __future__ import annotations

import re

import pytest
from tests.template.template_model import load_template

from core.model.errors import SettingsError
from core.model.settings import ENV_VARS, settings_from_env

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-guard/slack-AbCdEf"

# parameter -> (values the pattern must accept, values it must refuse)
TABLE: dict[str, tuple[list[str], list[str]]] = {
    "AllowedCIDRs": (
        [
            "",
            "203.0.113.0/24",
            "198.51.100.7",
            "2001:db8::/32",
            "203.0.113.0/24,2001:db8::/32",
            " 203.0.113.0/24 , 198.51.100.0/24 ",
        ],
        [
            "x",
            "1.2.3.4/33;rm",
            "203.0.113.0/24;10.0.0.0/8",
            "203.0.113.0/24\nrm -rf /",
            "\n",
            "office",
            "0.0.0.0/0 or 1=1",
            "$(reboot)",
            "203.0.113.0/24,",
            ",203.0.113.0/24",
            "203.0.113.0 /24",
            "203.0.113.0/2400",
            "203.0.113.0/24 198.51.100.0/24",
            "２０３.０.１１３.０/２４",  # full-width digits  # noqa: RUF001
        ],
    ),
    "AllowedVpceIds": (
        ["", "vpce-0123456789abcdef0", "vpce-01234567", "vpce-01234567, vpce-0123456789abcdef0"],
        [
            "x",
            "vpce-xyz",
            "vpce-0123",
            "vpce-0123456789abcdef0123",
            "VPCE-01234567",
            "vpce-0123456789ABCDEF0",
            "vpce-01234567;vpce-89abcdef",
            "vpce-01234567,",
            "vpc-01234567",
        ],
    ),
    "AllowedVpceOrgId": (
        ["", "o-a1b2c3d4e5", "o-" + "a" * 32],
        ["x", "o-short", "O-A1B2C3D4E5", "o-a1b2c3d4e5;rm", "o-a1b2c3d4e5,o-b1b2c3d4e5", " o-a1b2c3d4e5"],
    ),
    "AllowedVpceAccounts": (
        ["", "111122223333", "111122223333, 444455556666"],
        ["x", "11112222333", "1111222233334", "111122223333;rm", "111122223333,", "１１１１２２２２３３３３"],  # noqa: RUF001
    ),
    "AllowedVPCs": (
        ["", "vpc-1234abcd", "vpc-0a1b2c3d4e5f60718", " vpc-1234abcd , vpc-0a1b2c3d4e5f60718 "],
        [
            "vpc-123",
            "vpc-1234abcd5",
            "vpc-1234ABCD",
            "vpce-0a1b2c3d4e5f60718",
            "vpc-1234abcd;vpc-5678abcd",
            "vpc-xyzxyzxy",
        ],
    ),
    "MaxMfaAgeHours": (
        ["", "1", "12", "8760"],
        ["0", "-1", "1.5", "12h", "08", "12345", " 12", "12\n", "twelve"],
    ),
    "OrgExcludeAccounts": (
        ["", "123456789012", "123456789012,210987654321", " 123456789012 , 210987654321 "],
        [
            "12345678901",
            "1234567890123",
            "123456789012;210987654321",
            "123456789012,",
            "123456789012 210987654321",
            "12345678901a",
            "１２３４５６７８９０１２",  # full-width digits  # noqa: RUF001
            "123456789012\n210987654321",
        ],
    ),
    "LeakedKeySummaryRegions": (
        [
            "",
            "eu-west-1",
            "eu-west-1,ap-northeast-1",
            " us-west-2 , eu-central-1 ",
            "eu-west-1,eu-west-2,eu-west-3,eu-north-1,eu-south-1",
        ],
        [
            "eu-west",
            "EU-WEST-1",
            "eu-west-1;us-east-1",
            "eu-west-1,",
            "eu-west-1,eu-west-2,eu-west-3,eu-north-1,eu-south-1,eu-central-1",
            "eu-west-1\nus-east-1",
        ],
    ),
    "OrganizationId": (
        ["", "o-a1b2c3d4e5", "o-" + "a" * 32],
        ["o-", "o-a1b2c3d4", "o-" + "a" * 33, "O-A1B2C3D4E5", "r-a1b2", "o-a1b2c3d4e5;x", "o-a1b2c3d4e5\n"],
    ),
    "GroupName": (
        ["IAMGuardSecuredUsers", "a", "a" * 128, "team+ops=1,2.x@y_z-w"],
        ["", "secured users", "a" * 129, "grüppe", "team/secured", "group;drop", "group*", "x\n", "グループ"],
    ),
    "PolicyName": (
        ["IAMGuardSecureIAMPolicy", "p", "p" * 128],
        ["", "secure policy", "p" * 129, "polïcy", "policy/x", "policy\n"],
    ),
    "ExemptUsers": (
        ["", "breakglass", "breakglass, ops-admin", "a" * 64, "svc+ci=1.x@y_z-w"],
        ["break glass", "a" * 65, "breakglass;ops", "breakglass\nops", "*", "bréakglass", "breakglass ops"],
    ),
    "ExemptTagKey": (
        ["iam-guard:exempt", "team/no mfa", "k", "k" * 128, "a=b+c@d_e.f-g"],
        [
            "",
            "aws:exempt",
            "AWS:exempt",
            "Aws:x",
            "k" * 129,
            "tag;drop",
            "tag*",
            "tag#1",
            "exempté",
            "a\nb",
            "a\tb",
        ],
    ),
    "OwnerTagKey": (
        ["iam-guard:owner", "team/owner", "k", "k" * 128, "a=b+c@d_e.f-g"],
        ["", "aws:owner", "AWS:owner", "k" * 129, "tag;drop", "tag*", "owné", "a\nb"],
    ),
    "DefaultOwner": (
        ["", "security@example.com", "U012AB3CD", "W012AB3CD", "security@example.com U012AB3CD"],
        [
            "security@example.com, U012AB3CD",  # IAM tag values allow no comma: neither does the parameter
            "a;b@example.com",
            "<security@example.com>",
            "security@example.com\nbcc@example.net",
            "sécurité@example.com",
            "x" * 257,
        ],
    ),
    "WarningDays": (
        ["7,3,1", "1", "30,14,7,1", "365"],
        ["", "7 3 1", "7;3", "seven", "-1", "1.5", "1000", "7,"],
    ),
    "SweepSchedule": (
        ["rate(1 day)", "rate(12 hours)", "rate(5 minutes)", "cron(0 6 * * ? *)"],
        [
            "",
            "daily",
            "rate(1 week)",
            "rate(1day)",
            "rate(0.5 days)",
            "rate(-1 days)",
            "cron()",
            "rate(1 day)\n",
        ],
    ),
    "AlertEmail": (
        ["", "ops@example.com", "a.b+c@sub.example.org"],
        [
            "ops",
            "ops@example",
            "ops @example.com",
            "a@b@c.com",
            "ops@example.com evil@example.com",
            "ops@example.com,evil@example.com",
            "ops@example.com\n",
        ],
    ),
    "SlackSecretArn": (
        [
            "",
            SECRET_ARN,
            "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:slack-AbCdEf",
        ],
        [
            "slack-webhook",
            "https://hooks.slack.com/services/T000/B000/XXXX",  # the URL itself, pasted by mistake
            "arn:aws:ssm:us-east-1:123456789012:parameter/slack",
            "arn:aws:secretsmanager:us-east-1:12345:secret:slack",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack webhook",
            f"{SECRET_ARN}\n",
        ],
    ),
    "OwnerEmailSender": (
        ["", "iam-guard@example.com", "security+iam@mail.example.org"],
        [
            "iam-guard",
            "iam-guard@example",
            "a;b@example.com",
            "<iam-guard@example.com>",
            "iam-guard@example.com bcc@example.net",
            "iam-guard@example.com\n",
        ],
    ),
    "SlackBotTokenSecretArn": (
        ["", SECRET_ARN],
        [
            "slack-webhook",
            "https://hooks.example.com/webhook",  # the URL itself, pasted by mistake
            "arn:aws:ssm:us-east-1:123456789012:parameter/x",
            "arn:aws:secretsmanager:us-east-1:12345:secret:x",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
            f"{SECRET_ARN} ",
        ],
    ),
    "TeamsWebhookSecretArn": (
        ["", SECRET_ARN],
        [
            "slack-webhook",
            "https://hooks.example.com/webhook",  # the URL itself, pasted by mistake
            "arn:aws:ssm:us-east-1:123456789012:parameter/x",
            "arn:aws:secretsmanager:us-east-1:12345:secret:x",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
            f"{SECRET_ARN} ",
        ],
    ),
    "WebhookSecretArn": (
        ["", SECRET_ARN],
        [
            "slack-webhook",
            "https://hooks.example.com/webhook",  # the URL itself, pasted by mistake
            "arn:aws:ssm:us-east-1:123456789012:parameter/x",
            "arn:aws:secretsmanager:us-east-1:12345:secret:x",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
            f"{SECRET_ARN} ",
        ],
    ),
}

# The pattern cannot judge these; the settings model refuses them with this reason (the deploy fails
# at the custom resource, or the function's settings fail with one line).
MODEL_ONLY = [
    ("AllowedCIDRs", "203.0.113.1/24", "has host bits set"),
    ("AllowedCIDRs", "1.2.3.4/33", "not a valid IPv4 or IPv6 CIDR"),
    ("AllowedCIDRs", "abc", "not a valid IPv4 or IPv6 CIDR"),
    ("AllowedCIDRs", "0.0.0.0/0", "allows every address"),
    ("AllowedCIDRs", "0.0.0.0/1,128.0.0.0/1", "together allow every IPv4 address"),
    ("MaxMfaAgeHours", "8761", "less than or equal to 8760"),
    ("MaxMfaAgeHours", "9999", "less than or equal to 8760"),
    ("ExemptUsers", "a,,b", ""),  # an empty item is skipped, not an error: listed for the record
    ("OwnerTagKey", "iam-guard:exempt", "is the exemption tag key"),
    ("OwnerTagKey", "IAM-GUARD:EXEMPT", "is the exemption tag key"),
    ("DefaultOwner", "security", "neither an e-mail address nor a Slack member ID"),
    ("DefaultOwner", "a@b@example.com", "is not an e-mail address"),
    ("DefaultOwner", "a@example.com b@example.com", "more than one e-mail address"),
    ("WarningDays", "0", "greater than or equal to 1"),
    ("WarningDays", "400", "less than or equal to 365"),
]

# The pattern refuses these, the settings model reads them leniently (the pattern is the stricter gate).
PATTERN_ONLY = {
    ("AllowedCIDRs", "203.0.113.0/24,"): "the model skips empty list items",
    ("OrgExcludeAccounts", "123456789012,"): "the model skips empty list items",
    ("AllowedCIDRs", ",203.0.113.0/24"): "the model skips empty list items",
    ("AllowedVpceIds", "vpce-01234567,"): "the model skips empty list items",
    ("AllowedVpceAccounts", "111122223333,"): "the model skips empty list items",
    ("AllowedVpceOrgId", " o-a1b2c3d4e5"): "the model strips surrounding white space",
    ("LeakedKeySummaryRegions", "eu-west-1,"): "the model skips empty list items",
    ("GroupName", "x\n"): "the model strips surrounding white space",
    ("PolicyName", "policy\n"): "the model strips surrounding white space",
    ("SlackSecretArn", f"{SECRET_ARN}\n"): "the model strips surrounding white space",
    ("MaxMfaAgeHours", " 12"): "the model strips surrounding white space",
    ("MaxMfaAgeHours", "12\n"): "the model strips surrounding white space",
    ("MaxMfaAgeHours", "08"): "the model reads a leading zero as a number",
    ("ExemptTagKey", "exempté"): "IAM allows Unicode letters in tag keys; the template is stricter",
    ("OwnerTagKey", "owné"): "IAM allows Unicode letters in tag keys; the template is stricter",
    ("WarningDays", "7,"): "the model skips empty list items",
    ("OwnerEmailSender", "iam-guard@example.com\n"): "the model strips surrounding white space",
    ("SlackBotTokenSecretArn", f"{SECRET_ARN} "): "the model strips surrounding white space",
    ("TeamsWebhookSecretArn", f"{SECRET_ARN} "): "the model strips surrounding white space",
    ("WebhookSecretArn", f"{SECRET_ARN} "): "the model strips surrounding white space",
}


def _variables_of_parameters() -> dict[str, str]:
    """parameter -> the IAM_GUARD_* setting the functions get it as (template.yaml's Globals)."""
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    return {
        value["Ref"]: name
        for name, value in variables.items()
        if name in ENV_VARS and isinstance(value, dict) and set(value) == {"Ref"}
    }


VARIABLE_OF = _variables_of_parameters()


def pattern_of(parameter: str) -> str:
    pattern: str = load_template()["Parameters"][parameter]["AllowedPattern"]
    return pattern


def cloudformation_accepts(parameter: str, value: str) -> bool:
    return re.fullmatch(pattern_of(parameter), value, re.ASCII) is not None


def model_refusal(parameter: str, value: str) -> str | None:
    """The settings model's one-line refusal of the value, as the functions read it, or None."""
    environment = {VARIABLE_OF[parameter]: value, "IAM_GUARD_IP_RESTRICTION": "false"}
    try:
        settings_from_env(environment)
    except SettingsError as exc:
        return str(exc)
    return None


def rows(accepted: bool) -> list[tuple[str, str]]:
    return [(p, v) for p, (yes, no) in TABLE.items() for v in (yes if accepted else no)]


def test_every_allowed_pattern_has_its_table() -> None:
    patterned = {name for name, spec in load_template()["Parameters"].items() if "AllowedPattern" in spec}
    assert patterned == set(TABLE), "a parameter pattern without accept/refuse rows here"
    for parameter, (accepted, refused) in TABLE.items():
        assert accepted, parameter
        assert len(refused) >= 5 or (parameter == "AllowedVpceIds" and len(refused) >= 3), parameter
    assert {"AllowedCIDRs", "ExemptUsers", "MaxMfaAgeHours", "SlackSecretArn"} <= set(VARIABLE_OF)


@pytest.mark.parametrize(("parameter", "value"), rows(accepted=True))
def test_the_pattern_accepts(parameter: str, value: str) -> None:
    assert cloudformation_accepts(parameter, value)


@pytest.mark.parametrize(("parameter", "value"), rows(accepted=False))
def test_the_pattern_refuses(parameter: str, value: str) -> None:
    assert not cloudformation_accepts(parameter, value)


@pytest.mark.parametrize(("parameter", "value"), [r for r in rows(accepted=True) if r[0] in VARIABLE_OF])
def test_what_the_pattern_accepts_the_settings_model_accepts(parameter: str, value: str) -> None:
    assert model_refusal(parameter, value) is None


@pytest.mark.parametrize(("parameter", "value"), [r for r in rows(accepted=False) if r[0] in VARIABLE_OF])
def test_what_the_pattern_refuses_the_settings_model_refuses_too(parameter: str, value: str) -> None:
    refusal = model_refusal(parameter, value)
    if value.strip() == "" or (parameter, value) in PATTERN_ONLY:
        assert refusal is None  # read as not given, or leniently: the list above stays true
        return
    assert refusal is not None
    assert refusal.startswith("invalid setting")
    assert "\n" not in refusal


@pytest.mark.parametrize(("parameter", "value", "reason"), MODEL_ONLY)
def test_what_only_the_settings_model_can_judge(parameter: str, value: str, reason: str) -> None:
    assert cloudformation_accepts(parameter, value)
    refusal = model_refusal(parameter, value)
    if reason:
        assert refusal is not None
        assert reason in refusal
    else:
        assert refusal is None
