"""Which account the current credentials belong to (STS GetCallerIdentity needs no permission)."""

from __future__ import annotations

from typing import Any

from core.aws.gateway import Gateway, Retrier
from core.aws.iam import requires


def default_sts_client() -> Any:
    from core.aws.clients import client

    return client("sts")


def caller_account_id(client: Any = None, *, retrier: Retrier | None = None) -> str:
    sts = client if client is not None else default_sts_client()
    identity = (retrier or Retrier()).call("GetCallerIdentity", sts.get_caller_identity)
    return str(identity["Account"])


class KeyOwnerGateway(Gateway):
    """Whose an access key is: STS GetAccessKeyInfo (role assumption is core.aws.assume's StsGateway)."""

    default_client_factory = staticmethod(default_sts_client)

    @requires("sts:GetAccessKeyInfo")
    def access_key_account(self, access_key_id: str) -> str:
        """The account that owns an access key (``AKIA`` or ``ASIA``), whichever account that is."""
        return str(self._call("GetAccessKeyInfo", AccessKeyId=access_key_id)["Account"])
