"""Which account the current credentials belong to (STS GetCallerIdentity needs no permission)."""

from __future__ import annotations

from typing import Any

from core.aws.gateway import Retrier


def default_sts_client() -> Any:
    from core.aws.clients import client

    return client("sts")


def caller_account_id(client: Any = None, *, retrier: Retrier | None = None) -> str:
    sts = client if client is not None else default_sts_client()
    identity = (retrier or Retrier()).call("GetCallerIdentity", sts.get_caller_identity)
    return str(identity["Account"])
