"""Amazon SES (API v2): owner e-mail. Sandbox state, recipient verification, ``SendEmail``.

New SES accounts are in the sandbox, per region: mail only to verified addresses (and the mailbox
simulator), at most 200 a day and 1 a second. ``GetAccount`` says whether production access is on;
in the sandbox a recipient is sendable only when it (or its domain) is a verified identity.
"""

from __future__ import annotations

from typing import Any

from core.aws.gateway import Gateway
from core.aws.iam import requires
from core.model.errors import AwsError, NotFoundError


def default_ses_client() -> Any:
    from core.aws.clients import client

    return client("sesv2", region="us-east-1")  # the sender identity is verified there


class SesGateway(Gateway):
    default_client_factory = staticmethod(default_ses_client)

    @requires("ses:GetAccount")
    def production_access(self) -> bool:
        """``ProductionAccessEnabled``: False in the sandbox."""
        return bool(self._call("GetAccount").get("ProductionAccessEnabled", False))

    @requires("ses:GetEmailIdentity")
    def is_verified(self, identity: str) -> bool:
        """An address or a domain identity verified for sending (unknown identities are not)."""
        try:
            answer = self._call("GetEmailIdentity", EmailIdentity=identity)
        except NotFoundError:
            return False
        except AwsError as exc:
            if exc.code == "NotFoundException":  # SES v2's own code for an unknown identity
                return False
            raise
        return bool(answer.get("VerifiedForSendingStatus", False))

    def recipient_verified(self, address: str) -> bool:
        """In the sandbox: the address itself, or its domain, is a verified identity."""
        return self.is_verified(address) or self.is_verified(address.rpartition("@")[2])

    @requires("ses:SendEmail")
    def send_email(self, sender: str, recipient: str, subject: str, body: str) -> str:
        answer = self._call(
            "SendEmail",
            FromEmailAddress=sender,
            Destination={"ToAddresses": [recipient]},
            Content={"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": body}}}},
        )
        return str(answer.get("MessageId", ""))
