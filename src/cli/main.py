"""``iam-guard``: the command-line entry point. Thin: parse flags into settings, call core, print.

stdout carries only the result (JSON, table, CSV); logs and progress go to stderr. Expected failures
(``IamGuardError``) print one line on stderr and exit 2 (bad input) or 1 (AWS failure), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from core.errors import IamGuardError

# Subcommand -> module in cli.commands that defines add_arguments(parser) and run(args) -> int.
COMMANDS = {
    "policy": "Render the guardrail policy and print it as JSON.",
    "enforce": "Run the enforcer on one EventBridge event file against the current AWS account.",
    "audit": "Sweep the account: flag users without MFA or outside the secured group.",
    "demo": "Play the whole product on an embedded AWS emulator (no account needed).",
    "scp": "Render the optional IAMGuardProtect SCP for an organisation (org mode).",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, exit 2, as for every other bad input.
        self.exit(2, f"iam-guard: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="iam-guard", description="Guardrail for IAM users: network + MFA policy.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_text in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        _module(name).add_arguments(command_parser)
    return parser


def _module(name: str) -> Any:
    return importlib.import_module(f"cli.commands.{name}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(_module(args.command).run(args))
    except IamGuardError as exc:
        print(f"iam-guard {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("iam-guard: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
