"""An AWS emulator on loopback for the demo and the end-to-end tests.

``Emulator`` starts moto's threaded server on 127.0.0.1 with an ephemeral port and points this process's
boto3 at it through environment variables that are restored afterwards: fake credentials, us-east-1,
``AWS_ENDPOINT_URL``, and no shared config or profile, so the user's real AWS configuration is never read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from core.aws.gateway import CallCounter
from core.model.errors import IamGuardError

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account

# What every boto3 client of this process sees while the emulator runs.
_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_SESSION_TOKEN": "demo",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE")


class EmulatorError(IamGuardError):
    """The embedded emulator could not start (moto missing or loopback unavailable)."""


class SessionCallCounter(CallCounter):
    """A ``CallCounter`` on the default boto3 session: counts the calls of every client made from it,
    including the ones the handlers create lazily."""

    def attach_session(self, session: Any) -> None:
        session.events.register("before-call.*.*", self._record)


@contextmanager
def patched_environ(values: Mapping[str, str], cleared: tuple[str, ...] = ()) -> Iterator[None]:
    """Set (and clear) environment variables for the duration of the block, then restore them."""
    saved = {name: os.environ.get(name) for name in (*values, *cleared)}
    try:
        for name in cleared:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_moto_server() -> tuple[Any, str]:
    """moto's threaded server on 127.0.0.1 with an ephemeral port, started: ``(server, endpoint URL)``.

    The one way the demo, the tests and the benchmarks start the emulator; stop it with ``server.stop()``.
    It serves this process's moto backends (shared with any in-process ``mock_aws``); POST
    ``/moto-api/reset`` empties them.
    """
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise EmulatorError(
            "the AWS emulator (moto's server) is not installed: run `make demo` or `pip install -e '.[demo]'`"
        ) from None
    from demo.moto_extras import install

    install()  # what moto's IAM lacks and the sweep reads (service-specific credentials)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    try:
        server.start()
    except OSError as exc:
        raise EmulatorError(f"could not start the AWS emulator on 127.0.0.1: {exc}") from None
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


class Emulator:
    """moto's server on 127.0.0.1 (ephemeral port) and this process's boto3 pointed at it."""

    def __init__(self) -> None:
        self.endpoint_url = ""
        self.calls = SessionCallCounter()
        self._server: Any = None
        self.session: Any = None  # boto3's default session: what the handlers' clients come from

    def __enter__(self) -> Emulator:
        self._quiet_request_log = logging.getLogger("werkzeug")
        self._log_level = self._quiet_request_log.level
        self._quiet_request_log.setLevel(logging.ERROR)  # one line per request otherwise
        try:
            self._server, self.endpoint_url = start_moto_server()
        except EmulatorError:
            self._quiet_request_log.setLevel(self._log_level)
            raise
        self._env = patched_environ({**_FAKE_AWS, "AWS_ENDPOINT_URL": self.endpoint_url}, _CLEARED)
        self._env.__enter__()
        self._fresh_boto3_session()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._env.__exit__(None, None, None)
        finally:
            self._server.stop()
            self._quiet_request_log.setLevel(self._log_level)
            _forget_boto3_session()

    def _fresh_boto3_session(self) -> None:
        from core.aws.clients import fresh_default_session

        self.session = fresh_default_session(REGION)
        self.calls.attach_session(self.session)

    def client(self, service: str) -> Any:
        """A client of the emulator for the demo's own reads and setup (counted like the handlers')."""
        from core.aws.clients import client

        return client(service, region=REGION)


def _forget_boto3_session() -> None:
    from core.aws.clients import forget_default_session

    forget_default_session()
