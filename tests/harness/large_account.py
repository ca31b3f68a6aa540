"""A large account on moto, seeded straight into its IAM backend (the API would take minutes at 10,000
users). Used by the sweep's call-budget test and by the sweep benchmark (bench/bench_sweep.py).

The state: every user in the group; every 10th has a console password, every 7th an access key, every
21st a virtual MFA device (so every third key holder has MFA); every 35th without one a FIDO security key
and every 49th without one a hardware TOTP token (key holders whose MFA only the report shows: the sweep's
per-user ``ListMFADevices`` reads for ``cli-user-without-totp``, ``totp_reads``).
"""

from __future__ import annotations

from typing import Any

ACCOUNT_ID = "123456789012"  # moto's default account


class SetBackedList(list):  # type: ignore[type-arg]
    """moto keeps group members in a list and checks ``user in group.users`` for every user it lists:
    quadratic at thousands of users. Membership through a set keeps the emulator's own cost out."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        self._ids: set[int] = set()
        for item in items:
            self.append(item)

    def append(self, item: Any) -> None:
        super().append(item)
        self._ids.add(id(item))

    def __contains__(self, item: object) -> bool:
        return id(item) in self._ids


def seed_iam_backend(count: int, group_name: str) -> None:
    """``count`` users ``user00000``... in moto's IAM backend, all members of ``group_name`` (which must
    exist)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT_ID]["aws"]
    group = backend.get_group(group_name)
    members = SetBackedList(group.users)
    for i in range(count):
        name = f"user{i:05d}"
        user = backend.create_user("us-east-1", name)
        members.append(user)
        if i % 10 == 0:
            user.password = "Correct-Horse-9-Battery"
        if i % 7 == 0:
            backend.create_access_key(name)
        if i % 21 == 0:
            device = backend.create_virtual_mfa_device(f"{name}-phone", "/")
            backend.enable_mfa_device(name, device.serial_number, "123456", "654321")
        elif i % 35 == 0 or i % 49 == 0:
            if i % 35 == 0:
                serial = f"arn:aws:iam::{ACCOUNT_ID}:u2f/user/{name}/securitykey-{i:08d}"
                backend.enable_mfa_device(name, serial, "", "")
            if i % 49 == 0:
                backend.enable_mfa_device(name, f"GAHT{i:08d}", "123456", "654321")
    group.users = members


def totp_reads(count: int) -> int:
    """The users of ``seed_iam_backend(count)`` whose MFA devices the sweep reads: an access key, a FIDO
    key or a hardware token, no virtual device."""
    return sum(1 for i in range(count) if i % 21 != 0 and (i % 35 == 0 or i % 49 == 0))


def fido_only(count: int) -> list[str]:
    """The users of ``seed_iam_backend(count)`` with a key and only a FIDO device: flagged
    ``cli-user-without-totp``."""
    return [f"user{i:05d}" for i in range(count) if i % 21 != 0 and i % 35 == 0 and i % 49 != 0]
