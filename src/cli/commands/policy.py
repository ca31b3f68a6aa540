"""``iam-guard policy``: print the rendered guardrail policy (exactly one JSON document on stdout)."""

from __future__ import annotations

import argparse

from cli.options import (
    add_aws_arguments,
    add_from_stack_argument,
    add_guardrail_arguments,
    add_policy_arguments,
    settings_from_args,
)
from core.model.policy_text import policy_json
from core.policy.document import render_policy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_policy_arguments(parser)
    add_guardrail_arguments(parser)
    add_from_stack_argument(parser)
    add_aws_arguments(parser)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    print(policy_json(render_policy(settings)))
    return 0
