"""Issue 10, sections 3 to 6, proved by the IAM engine: pathed users, MFA registration, the exemption tag and
the maximum MFA age.

- Users with an IAM path (``user/engineering/bob``) get self-service on their own user, and still on no
  one else's: not another user of the same name at the root (names are unique per account, so there is
  none), not a user whose name ends or starts with theirs.
- Strict mode: a request signed with a long-term key (no ``aws:MultiFactorAuthPresent``) cannot register an
  MFA device; a console session without MFA (the key present, ``false``) can, as can an MFA session.
- Nobody in the group sets, removes or creates a user with the exemption tag key, in any letter case;
  other tags are untouched.
- With a maximum MFA age, MFA older than that counts as none: all but self-service is denied.

Every row is evaluated by the engine on the rendered policy and by the oracle in spec.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace

import pytest

from .engine import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, mfa_arn, user_arn
from .spec import (
    CREATE_DEVICE,
    DEACTIVATE,
    MFA_REGISTRATION,
    OWN_USER_SELF_SERVICE,
    Call,
    Setting,
    decide,
    disagreements,
    expected,
    report,
    rows,
    wrong,
)

pytestmark = pytest.mark.engine

SETTINGS = {
    "strict": Setting(),
    "console": Setting(mode="console"),
    "custom tag": Setting(exempt_tag="Team:Exempt"),
    "max age 12h": Setting(max_mfa_age_hours=12),
    "console max age 1h": Setting(mode="console", max_mfa_age_hours=1),
    "everything": Setting(
        stack="iam-guard", max_mfa_age_hours=12, exempt_tag="Team:Exempt", owner_tag="Team:Owner"
    ),
}
ME = "alice"
MFA_STATES = ("true", "false", "absent")

# --- pathed users ---------------------------------------------------------------------------------------

CALLER_PATHS = ("/", "/engineering/", "/division/team/")


def user_targets(path: str) -> list[tuple[str, str, str]]:
    """(what, resource, own or other) for a caller named alice at this path."""
    return [
        ("own user", user_arn(ME, path), "own"),
        ("other user at the root", user_arn("bob"), "other"),
        ("other user on a path", user_arn("bob", "/engineering/"), "other"),
        ("other user, same path, name ending in ours", user_arn(f"m{ME}", path), "other"),
        ("other user, same path, name starting with ours", user_arn(f"{ME}-admin", path), "other"),
        ("other user under a path named like us", user_arn("bob", f"/{ME}/"), "other"),
    ]


def pathed_user_calls() -> Iterator[Call]:
    for setting, path, mfa, admin in itertools.product(
        ("strict", "console"), CALLER_PATHS, MFA_STATES, (False, True)
    ):
        for what, resource, target in user_targets(path):
            for action in (*OWN_USER_SELF_SERVICE, DEACTIVATE):
                yield Call(setting, what, action, resource, target=target, mfa=mfa, admin=admin, path=path)


# --- MFA registration ------------------------------------------------------------------------------------

# The credentials a request may be signed with, as IAM reports them.
CREDENTIALS = {
    "long-term access key": "absent",
    "console sign-in without MFA": "false",
    "GetSessionToken session without MFA": "false",  # indistinguishable by policy (issue 10, section 4)
    "session with MFA": "true",
}


def registration_calls() -> Iterator[Call]:
    for setting, (credential, mfa), admin, path in itertools.product(
        ("strict", "console", "everything"), CREDENTIALS.items(), (False, True), ("/", "/engineering/")
    ):
        own = user_arn(ME, path)
        for action, resource in [
            (CREATE_DEVICE, mfa_arn("alice-phone")),
            ("iam:EnableMFADevice", own),
            ("iam:ResyncMFADevice", own),
            (DEACTIVATE, own),
            ("iam:ChangePassword", own),
            ("iam:GetUser", own),
            ("sts:GetSessionToken", "*"),
        ]:
            target = "any" if resource == "*" or ":mfa/" in resource else "own"
            yield Call(setting, credential, action, resource, target=target, mfa=mfa, admin=admin, path=path)


# --- the exemption tag -----------------------------------------------------------------------------------

TAG_KEY_SETS: dict[str, tuple[str, ...] | None] = {
    "the key": ("{key}",),
    "the key upper case": ("{KEY}",),
    "the key in mixed case": ("{Key}",),
    "the key among others": ("team", "{key}", "cost-center"),
    "other tags": ("team", "cost-center"),
    "a longer key": ("{key}-until",),
    "a key ending in ours": ("x-{key}",),
    "a shorter key": ("{short}",),
    "no tags": None,
}


def tag_keys(template: tuple[str, ...] | None, key: str) -> tuple[str, ...] | None:
    if template is None:
        return None
    mixed = "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(key))
    return tuple(t.format(key=key, KEY=key.upper(), Key=mixed, short=key[:-1]) for t in template)


def exemption_calls() -> Iterator[Call]:
    for setting, admin in itertools.product(("strict", "custom tag", "everything"), (False, True)):
        for key, (what, template), (action, resource) in itertools.product(
            SETTINGS[setting].guard_tag_keys,
            TAG_KEY_SETS.items(),
            [
                ("iam:TagUser", user_arn("bob")),
                ("iam:TagUser", user_arn(ME)),
                ("iam:TagUser", user_arn("carol", "/engineering/")),
                ("iam:UntagUser", user_arn("breakglass")),
                ("iam:CreateUser", user_arn("newbie")),
            ],
        ):
            yield Call(
                setting,
                f"tag keys: {what} ({key})",
                action,
                resource,
                tag_keys=tag_keys(template, key),
                admin=admin,
            )
    # The other stack of the same account uses another key: ours only is protected.
    yield Call(
        "custom tag",
        "tag keys: the default key",
        "iam:TagUser",
        user_arn("bob"),
        tag_keys=("iam-guard:exempt",),
    )


# --- maximum MFA age -------------------------------------------------------------------------------------

AGES = (60, 3599, 3600, 3601, 43199, 43200, 43201, 10 * 86400)


def mfa_age_calls() -> Iterator[Call]:
    actions = [
        ("s3:ListAllMyBuckets", "*", "any"),
        ("ec2:DescribeInstances", "*", "any"),
        ("iam:GetUser", user_arn(ME), "own"),
        ("iam:ChangePassword", user_arn(ME), "own"),
        ("iam:EnableMFADevice", user_arn(ME), "own"),
        ("sts:GetSessionToken", "*", "any"),
        (DEACTIVATE, user_arn(ME), "own"),
        ("iam:GetUser", user_arn("bob"), "other"),
    ]
    settings = ("strict", "max age 12h", "console max age 1h", "everything")
    for setting, admin, (action, resource, target) in itertools.product(settings, (False, True), actions):
        for age in AGES:
            yield Call(setting, f"MFA {age}s old", action, resource, target=target, mfa_age=age, admin=admin)
        for mfa in ("false", "absent"):  # no MFA, so no age at all
            yield Call(setting, "no MFA", action, resource, target=target, mfa=mfa, mfa_age=None, admin=admin)


def calls() -> list[Call]:
    return [*pathed_user_calls(), *registration_calls(), *exemption_calls(), *mfa_age_calls()]


@pytest.fixture(scope="module")
def table() -> list[tuple[Call, str]]:
    return decide(SETTINGS, calls())


# --- the proofs -----------------------------------------------------------------------------------------


def test_engine_agrees_with_the_specification_on_every_row(table: list[tuple[Call, str]]) -> None:
    assert len(table) > 2000  # the whole matrix, not a sample
    problems = disagreements(SETTINGS, table)
    assert not problems, report(problems)


@pytest.mark.parametrize("path", CALLER_PATHS)
def test_users_with_any_path_manage_their_own_password_and_mfa_without_mfa(
    table: list[tuple[Call, str]], path: str
) -> None:
    """A new console user on a path, only the guardrail attached, reaches every self-service step."""
    own = rows(
        table,
        lambda c: c.path == path
        and c.what == "own user"
        and c.mfa == "false"
        and not c.admin
        and c.action != DEACTIVATE,
    )
    assert not wrong(own, ALLOWED), report(wrong(own, ALLOWED))


def test_a_pathed_user_acts_on_no_one_else_not_even_with_admin_rights(table: list[tuple[Call, str]]) -> None:
    """Without MFA, self-service on another user is denied, whatever the two users' paths and names."""
    others = rows(
        table, lambda c: c.target == "other" and c.what.startswith("other user") and c.mfa != "true"
    )
    unprotected = [(c, g) for c, g in others if c.mfa == "false" or c.setting == "strict"]
    assert not wrong(unprotected, EXPLICIT_DENY), report(wrong(unprotected, EXPLICIT_DENY))
    granted = rows(table, lambda c: c.what.startswith("other user") and not c.admin)
    assert not [str(c) for c, g in granted if g == ALLOWED], (
        "the guardrail grants self-service on another user"
    )


def test_a_leaked_access_key_cannot_register_an_mfa_device_in_strict_mode(
    table: list[tuple[Call, str]],
) -> None:
    key = rows(table, lambda c: c.what == "long-term access key" and c.action in MFA_REGISTRATION)
    strict = [(c, g) for c, g in key if SETTINGS[c.setting].mode == "strict"]
    assert not wrong(strict, EXPLICIT_DENY), report(wrong(strict, EXPLICIT_DENY))
    # Console mode leaves long-term keys ungated, registration included (the seed's trade-off).
    console = [(c, g) for c, g in key if SETTINGS[c.setting].mode == "console" and not c.admin]
    assert not wrong(console, ALLOWED), report(wrong(console, ALLOWED))


def test_a_console_session_without_mfa_registers_the_first_device(table: list[tuple[Call, str]]) -> None:
    first_sign_in = rows(
        table,
        lambda c: c.what == "console sign-in without MFA" and c.action in MFA_REGISTRATION and not c.admin,
    )
    assert not wrong(first_sign_in, ALLOWED), report(wrong(first_sign_in, ALLOWED))


def test_a_long_term_key_keeps_the_rest_of_self_service(table: list[tuple[Call, str]]) -> None:
    """Strict: the key may still change its password and get an MFA session (sts:GetSessionToken)."""
    key = rows(
        table,
        lambda c: c.what == "long-term access key"
        and c.action in {"iam:ChangePassword", "iam:GetUser", "sts:GetSessionToken"}
        and not c.admin,
    )
    assert not wrong(key, ALLOWED), report(wrong(key, ALLOWED))


@pytest.mark.parametrize("setting", ["strict", "custom tag", "everything"])
def test_every_iam_guard_tag_key_is_refused_in_any_letter_case_and_only_they(
    table: list[tuple[Call, str]], setting: str
) -> None:
    tagging = rows(table, lambda c: c.setting == setting and c.what.startswith("tag keys") and c.admin)
    with_key = [(c, g) for c, g in tagging if c.what.removeprefix("tag keys: ").startswith("the key")]
    assert {c.action for c, _ in with_key} == {"iam:TagUser", "iam:UntagUser", "iam:CreateUser"}
    assert not wrong(with_key, EXPLICIT_DENY), report(wrong(with_key, EXPLICIT_DENY))
    others = [(c, g) for c, g in tagging if (c, g) not in with_key]
    keys = SETTINGS[setting].guard_tag_keys
    assert {c.what for c, _ in with_key} >= {f"tag keys: the key ({key})" for key in keys}
    assert {c.what for c, _ in others} >= {
        f"tag keys: {what} ({key})" for what in ("other tags", "no tags", "a longer key") for key in keys
    }
    assert not wrong(others, ALLOWED), report(wrong(others, ALLOWED))


@pytest.mark.parametrize("setting", ["max age 12h", "console max age 1h", "everything"])
def test_mfa_older_than_the_maximum_counts_as_none(table: list[tuple[Call, str]], setting: str) -> None:
    limit = (SETTINGS[setting].max_mfa_age_hours or 0) * 3600
    aged = rows(table, lambda c: c.setting == setting and c.what.startswith("MFA ") and c.admin)
    old = [(c, g) for c, g in aged if (c.mfa_age or 0) > limit]
    fresh = [(c, g) for c, g in aged if (c.mfa_age or 0) <= limit]
    assert old
    assert fresh
    self_service_on_own = {"iam:GetUser", "iam:ChangePassword", "iam:EnableMFADevice", "sts:GetSessionToken"}
    blocked = [(c, g) for c, g in old if c.action not in self_service_on_own or c.target == "other"]
    assert not wrong(blocked, EXPLICIT_DENY), report(wrong(blocked, EXPLICIT_DENY))
    renewing = [(c, g) for c, g in old if c.action in self_service_on_own and c.target == "own"]
    assert not wrong(renewing, ALLOWED), "an old MFA must still let the user sign in again"
    assert not wrong(fresh, ALLOWED), report(wrong(fresh, ALLOWED))


def test_without_a_maximum_old_mfa_is_mfa(table: list[tuple[Call, str]]) -> None:
    old = rows(table, lambda c: c.setting == "strict" and c.what == f"MFA {AGES[-1]}s old" and c.admin)
    assert not wrong(old, ALLOWED), report(wrong(old, ALLOWED))


def test_the_oracle_is_not_vacuous() -> None:
    tag = Call("strict", "", "iam:TagUser", user_arn("bob"), tag_keys=("IAM-GUARD:EXEMPT",))
    assert expected(tag, SETTINGS["strict"]) == EXPLICIT_DENY
    assert expected(replace(tag, tag_keys=("team",)), SETTINGS["strict"]) == ALLOWED
    register = Call(
        "strict", "", "iam:EnableMFADevice", user_arn(ME), target="own", mfa="absent", admin=False
    )
    assert expected(register, SETTINGS["strict"]) == EXPLICIT_DENY
    assert expected(replace(register, mfa="false"), SETTINGS["strict"]) == ALLOWED
    assert expected(replace(register, target="other", mfa="false"), SETTINGS["strict"]) == EXPLICIT_DENY
    assert expected(replace(register, target="other", mfa="true"), SETTINGS["strict"]) == IMPLICIT_DENY
