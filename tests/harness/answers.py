"""AWS answering differently: failures injected where the network would produce them.

``fail_transport`` makes botocore's send step raise the exceptions the network raises (connection
refused, read timeout, connection closed) for the next attempts of one operation, then lets requests
through to whatever answers them (moto in-process, or a server). Client errors in IAM's own format are
scripted with ``botocore.stub.Stubber`` directly.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

ENDPOINT = "https://iam.amazonaws.com/"


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
    service = client.meta.service_model.service_id.hyphenize()

    def before_send(**_: Any) -> None:
        attempts[0] += 1
        if pending:
            raise pending.pop(0)

    client.meta.events.register(f"before-send.{service}.{operation}", before_send)
    return attempts
