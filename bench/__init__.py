"""Benchmarks: figures (API-call counts, ratios, timings) printed for people to read, never pass/fail."""

import os

# Never a real account: fake credentials, no shared config, no instance metadata; endpoints are loopback.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}

# A process we time runs as installed: pip compiles bytecode, Lambda ships it (sam build). A shell's
# PYTHONDONTWRITEBYTECODE would have every timed process compile our source again, and an earlier round's
# figures paid exactly that: the timed children never inherit these.
BYTECODE_VARS = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")


def installed_environment() -> dict[str, str]:
    """This process's environment, without the variables that stop Python from caching bytecode."""
    return {k: v for k, v in os.environ.items() if k not in BYTECODE_VARS}
