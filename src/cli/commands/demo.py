"""`iam-guard demo`: being built (see the README's status section)."""

from __future__ import annotations

import argparse

from core.errors import InvalidInputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    raise InvalidInputError("'demo' is not implemented yet")
