"""The seed policy, verbatim from the 2021 blog post "これをつけとけ!セキュアなIAMポリシー".

Only the placeholders ``AAA.AAA.AAA.AAA/32`` and ``BBB.BBB.BBB.BBB/24`` are replaced by documentation
ranges; the JSON ``false`` in statement 2 is kept as the blog wrote it.
"""

from __future__ import annotations

from typing import Any

SEED_CIDRS = ("198.51.100.7/32", "203.0.113.0/24")

_SELF_SERVICE = [
    "iam:CreateVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:ResyncMFADevice",
    "iam:ListMFADevices",
    "iam:ListVirtualMFADevices",
    "iam:ListUsers",
    "iam:ChangePassword",
]

SEED_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "RejectAllButSpecificIPs",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "NotIpAddress": {"aws:SourceIp": list(SEED_CIDRS)},
                "Bool": {"aws:ViaAWSService": "false"},
            },
        },
        {
            "Sid": "BlockMostAccessUnlessSignedInWithMFA",
            "Effect": "Deny",
            "NotAction": _SELF_SERVICE,
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": False}},
        },
        {
            "Sid": "AllowIndividualUserToManageTheirOwnMFA",
            "Effect": "Allow",
            "Action": _SELF_SERVICE,
            "Resource": ["arn:aws:iam::*:mfa/${aws:username}", "arn:aws:iam::*:user/${aws:username}"],
            "Condition": {"IpAddress": {"aws:SourceIp": list(SEED_CIDRS)}},
        },
    ],
}
