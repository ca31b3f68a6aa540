"""AWS answering differently: failures injected where the network would produce them.

``fail_transport`` makes botocore's send step raise the exceptions the network raises (connection
refused, read timeout, connection closed) for the next attempts of one operation, then lets requests
through to whatever answers them (moto in-process, or a server). ``page_answers`` serves a listing in
several pages, as real IAM does, where moto answers in one. Client errors in IAM's own format are
scripted with ``botocore.stub.Stubber`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import xform_name
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.handlers import json_decode_policies

ENDPOINT = "https://iam.amazonaws.com/"


def service_of(client: Any) -> str:
    """The service part of a client's event names (``iam``, ``sns``, ...)."""
    return str(client.meta.service_model.service_id.hyphenize())


def network_errors() -> dict[str, Exception]:
    """One of each way the network fails a call, as botocore raises it."""
    return {
        "EndpointConnectionError": EndpointConnectionError(endpoint_url=ENDPOINT),
        "ReadTimeoutError": ReadTimeoutError(endpoint_url=ENDPOINT),
        "ConnectionClosedError": ConnectionClosedError(endpoint_url=ENDPOINT),
    }


def fail_transport(client: Any, operation: str, *errors: Exception) -> list[int]:
    """The next ``len(errors)`` sends of ``operation`` raise these errors, in order; later sends go
    through. Returns a one-item list counting every send attempted."""
    pending = list(errors)
    attempts = [0]
    service = service_of(client)

    def before_send(**_: Any) -> None:
        attempts[0] += 1
        if pending:
            raise pending.pop(0)

    client.meta.events.register(f"before-send.{service}.{operation}", before_send)
    return attempts


@dataclass
class HttpAnswer:
    """The little of an HTTP response botocore reads when a ``before-call`` hook answers a call."""

    status_code: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def page_answers(client: Any, operation: str, result_key: str, page_size: int) -> list[int]:
    """Answer ``operation`` in pages of ``page_size`` items, as real IAM does (``IsTruncated`` and an
    opaque ``Marker``), from what the backend behind ``client`` (moto) answers in one page.

    Returns a one-item list counting the pages served.
    """
    raw = boto3.client(
        client.meta.service_model.service_name,
        region_name=client.meta.region_name,
        endpoint_url=client.meta.endpoint_url,
    )
    # The hooked client decodes policy documents in its own after-call step: serve them still encoded.
    raw.meta.events.unregister(f"after-call.{service_of(client)}", json_decode_policies)
    full_listing = getattr(raw, xform_name(operation))
    service = service_of(client)
    request: dict[str, Any] = {}
    served = [0]

    def remember(params: dict[str, Any], **_: Any) -> None:
        request.clear()
        request.update(params)

    def answer(**_: Any) -> tuple[HttpAnswer, dict[str, Any]]:
        params = dict(request)
        start = int(str(params.pop("Marker", "page-0")).removeprefix("page-"))
        params.pop("MaxItems", None)
        full = full_listing(**params)
        full.pop("ResponseMetadata", None)
        items = full[result_key]
        end = start + page_size
        page = {**full, result_key: items[start:end], "IsTruncated": end < len(items)}
        page.pop("Marker", None)
        if end < len(items):
            page["Marker"] = f"page-{end}"
        served[0] += 1
        return HttpAnswer(), page

    client.meta.events.register(f"before-parameter-build.{service}.{operation}", remember)
    client.meta.events.register(f"before-call.{service}.{operation}", answer)
    return served
