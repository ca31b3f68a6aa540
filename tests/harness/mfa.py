"""MFA devices on moto: created and enabled the way a user would (moto accepts any two codes)."""

from __future__ import annotations

from typing import Any


def enable_mfa(iam: Any, user: str, serial: str) -> None:
    """Enable the device ``serial`` (virtual or hardware) for ``user``."""
    iam.enable_mfa_device(
        UserName=user, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )


def enable_virtual_mfa(iam: Any, user: str, device_name: str | None = None) -> str:
    """Create a virtual MFA device (default name ``<user>-phone``), enable it for ``user``; its serial."""
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=device_name or f"{user}-phone")
    serial = str(device["VirtualMFADevice"]["SerialNumber"])
    enable_mfa(iam, user, serial)
    return serial
