"""What the Lambda handlers publish through Powertools Metrics, as CloudWatch reads it (EMF documents).

``handlers.common.metrics`` is created when the module is imported, possibly before the tests' environment
is set: the fixture pins its namespace and service, and records every EMF document it serializes (the
very document Lambda would print to the log, without capturing stdout).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass(frozen=True)
class MetricPoint:
    """One value of one metric, with the namespace and dimensions CloudWatch files it under."""

    name: str
    namespace: str
    dimensions: dict[str, str]
    value: float


@dataclass
class EmittedMetrics:
    documents: list[dict[str, Any]] = field(default_factory=list)

    def points(self, name: str | None = None) -> list[MetricPoint]:
        found = []
        for document in self.documents:
            for directive in document["_aws"]["CloudWatchMetrics"]:
                keys = [key for dimension_set in directive["Dimensions"] for key in dimension_set]
                dimensions = {key: str(document[key]) for key in keys}
                for metric in directive["Metrics"]:
                    if name is None or metric["Name"] == name:
                        values = document[metric["Name"]]
                        for value in values if isinstance(values, list) else [values]:
                            found.append(
                                MetricPoint(metric["Name"], directive["Namespace"], dimensions, value)
                            )
        return found

    def names(self) -> list[str]:
        return [point.name for point in self.points()]

    def values(self, name: str) -> list[float]:
        return [point.value for point in self.points(name)]

    def total(self, name: str) -> float:
        return sum(point.value for point in self.points(name))


def pin_lambda_metrics(monkeypatch: pytest.MonkeyPatch, *, namespace: str, service: str) -> EmittedMetrics:
    from handlers import common

    emitted = EmittedMetrics()
    provider = common.metrics.provider
    serialize = provider.serialize_metric_set

    def recording_serialize(*args: Any, **kwargs: Any) -> Any:
        document = serialize(*args, **kwargs)
        emitted.documents.append(document)
        return document

    monkeypatch.setattr(common.metrics, "namespace", namespace)
    monkeypatch.setattr(common.metrics, "service", service)
    monkeypatch.setattr(provider, "serialize_metric_set", recording_serialize)
    common.metrics.clear_metrics()  # nothing left over from an earlier test's invocation
    return emitted
