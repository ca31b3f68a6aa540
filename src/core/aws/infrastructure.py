"""The infrastructure the sweep's self-check reads: the enforcer's rule (EventBridge) and function (Lambda).

Read-only. Each service is one ``Gateway`` (the shared retrier, lazy or injected clients).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from core.aws.gateway import Gateway, Retrier
from core.aws.iam import requires


def _client(service: str) -> Any:
    from core.aws.clients import client

    return client(service)


class _ServiceGateway(Gateway):
    """One service's client behind the shared retrier; its factory is always given."""

    @staticmethod
    def default_client_factory() -> Any:  # never used: InfrastructureGateway passes its factory
        raise NotImplementedError


class InfrastructureGateway:
    """The enforcer's rule (EventBridge) and function (Lambda), read-only. Clients lazy or injected."""

    def __init__(
        self,
        *,
        events_client: Any = None,
        lambda_client: Any = None,
        retrier: Retrier | None = None,
        client_factory: Callable[[str], Any] = _client,
    ) -> None:
        self._factory = client_factory
        self.retrier = retrier or Retrier()
        self._gateways = {
            service: _ServiceGateway(
                given, retrier=self.retrier, client_factory=partial(client_factory, service)
            )
            for service, given in (("events", events_client), ("lambda", lambda_client))
        }

    def _call(self, service: str, operation: str, **params: Any) -> Any:
        return self._gateways[service]._call(operation, **params)

    @requires("events:DescribeRule")
    def rule_state(self, rule: str) -> str:
        return str(self._call("events", "DescribeRule", Name=rule).get("State", ""))

    @requires("events:ListTargetsByRule")
    def rule_target_arns(self, rule: str) -> list[str]:
        return [
            str(t["Arn"]) for t in self._call("events", "ListTargetsByRule", Rule=rule).get("Targets", [])
        ]

    @requires("lambda:GetFunctionConfiguration")
    def function_configuration(self, function: str) -> dict[str, Any]:
        return dict(self._call("lambda", "GetFunctionConfiguration", FunctionName=function))

    @requires("lambda:GetFunctionConcurrency")
    def reserved_concurrency(self, function: str) -> int | None:
        found = self._call("lambda", "GetFunctionConcurrency", FunctionName=function)
        value = found.get("ReservedConcurrentExecutions")
        return int(value) if value is not None else None
