"""The owners' notification state: which stage of which finding was sent (DynamoDB).

One item per stage sent: ``pk`` = ``<account>#<user>#<finding>``, ``sk`` = the stage (``warning-7``,
``action``, ``notice``), ``ttl`` (epoch seconds) so DynamoDB forgets old stages by itself. A stage is
claimed with a conditional put before it is sent, so two sweeps running at once never both send it; a
send that fails releases the claim, so the next sweep tries again.
"""

from __future__ import annotations

from typing import Any

from core.aws.gateway import Gateway
from core.aws.iam import requires
from core.model.errors import AwsError

CONDITION_FAILED = "ConditionalCheckFailedException"


def default_dynamodb_client() -> Any:
    from core.aws.clients import client

    return client("dynamodb")


class NotificationStateGateway(Gateway):
    default_client_factory = staticmethod(default_dynamodb_client)

    def __init__(self, table: str, client: Any = None, **kw: Any) -> None:
        super().__init__(client, **kw)
        self.table = table

    @requires("dynamodb:PutItem")
    def claim(self, pk: str, sk: str, *, ttl: int, owner: str, channel: str) -> bool:
        """Record the stage as sent; False when it already was (by this or an earlier sweep)."""
        item = {
            "pk": {"S": pk},
            "sk": {"S": sk},
            "ttl": {"N": str(ttl)},
            "owner": {"S": owner},
            "channel": {"S": channel},
        }
        try:
            self._call(
                "PutItem",
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) AND attribute_not_exists(sk)",
            )
        except AwsError as exc:
            if exc.code == CONDITION_FAILED:
                return False
            raise
        return True

    @requires("dynamodb:DeleteItem")
    def release(self, pk: str, sk: str) -> None:
        """Forget a claim whose send failed, so the next sweep sends it."""
        self._call("DeleteItem", TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}})
