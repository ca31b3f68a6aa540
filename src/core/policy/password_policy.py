"""The account password policy IAM Guard sets with ``ManagePasswordPolicy=true``. Pure.

One definition for the sweep (``core.sweep.run.manage_password_policy``: missing or weak, set) and the
enforcer (``core.enforce.actions.restore_password_policy``: an ``UpdateAccountPasswordPolicy`` or
``DeleteAccountPasswordPolicy`` event, restored).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# What ``ManagePasswordPolicy=true`` sets (IAM's UpdateAccountPasswordPolicy parameters).
MANAGED_MINIMUM_LENGTH = 14
MANAGED_REUSE_PREVENTION = 24


def managed_password_policy(current: Mapping[str, Any] | None, max_age_days: int) -> dict[str, Any]:
    """The policy IAM Guard sets: length 14 and reuse prevention 24 (or the current value, when higher:
    never weaker than what is there), the four character classes, users may change their password, no
    hard expiry; ``MaxPasswordAge`` only from ``max_age_days`` (0: left out, so passwords do not expire)."""
    current = current or {}
    policy: dict[str, Any] = {
        "MinimumPasswordLength": max(MANAGED_MINIMUM_LENGTH, int(current.get("MinimumPasswordLength") or 0)),
        "RequireSymbols": True,
        "RequireNumbers": True,
        "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True,
        "AllowUsersToChangePassword": True,
        "PasswordReusePrevention": max(
            MANAGED_REUSE_PREVENTION, int(current.get("PasswordReusePrevention") or 0)
        ),
        "HardExpiry": False,
    }
    if max_age_days:
        policy["MaxPasswordAge"] = max_age_days
    return policy


def already_managed(current: Mapping[str, Any] | None, target: Mapping[str, Any]) -> bool:
    """The current policy already says what ``target`` says (a missing MaxPasswordAge reads as 0)."""
    if current is None:
        return False
    wanted = {**target, "MaxPasswordAge": target.get("MaxPasswordAge", 0)}
    return all((current.get(k) or 0) == (v or 0) for k, v in wanted.items())
