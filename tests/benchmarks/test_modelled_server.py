"""The cost model's server answers every call the sweep makes, as the demo's and the tests' emulator does.

``make bench`` once measured a failure instead of a sweep: the modelled server lacked the emulation of
``ListServiceSpecificCredentials`` that ``demo.emulator`` installs, so every ``iam-guard audit`` under the
model stopped at that call."""

from __future__ import annotations

import boto3
import pytest
from bench.bench_sweep import SeededServer

pytestmark = pytest.mark.slow  # the bench's seeded server, a process of its own (this one's moto differs)


def test_the_modelled_server_answers_the_sweeps_service_credential_listing() -> None:
    with SeededServer(3, modelled=True) as endpoint:
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        answer = iam.list_service_specific_credentials(AllUsers=True)
    assert answer["ServiceSpecificCredentials"] == []
