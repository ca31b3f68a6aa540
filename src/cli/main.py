"""``iam-guard``: the command-line entry point. Thin: parse flags into settings, call core, print.

stdout carries only the result (JSON, table, CSV); logs and progress go to stderr. Expected failures
(``IamGuardError``) print one line on stderr and exit 2 (bad input) or 1 (AWS failure), never a traceback.

Start-up stays small: only the chosen subcommand's module is imported (``iam-guard --help`` imports none),
and each command module imports what its run needs when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from core.model.errors import IamGuardError

# Subcommand -> module in cli.commands that defines add_arguments(parser) and run(args) -> int.
COMMANDS = {
    "policy": "Render the guardrail policy and print it as JSON.",
    "enforce": "Run the enforcer on one EventBridge event file against the current AWS account.",
    "respond": "Contain one leaked access key: deactivate it, revoke its user's sessions (--apply to act).",
    "audit": "Sweep the account: flag users without MFA or outside the secured group.",
    "demo": "Play the whole product on an embedded AWS emulator (no account needed).",
    "scp": "Render the optional IAMGuardProtect SCP for an organisation (org mode).",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, exit 2, as for every other bad input.
        self.exit(2, f"iam-guard: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; subcommands' own flags are added for ``command`` only (all of them when None).

    The other subcommands are still listed (with their help line), so ``--help`` and an unknown
    subcommand read the same whichever subcommand was named.
    """
    parser = _Parser(prog="iam-guard", description="Guardrail for IAM users: network + MFA policy.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_text in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if command in (None, name):
            _module(name).add_arguments(command_parser)
    return parser


def _module(name: str) -> Any:
    return importlib.import_module(f"cli.commands.{name}")


def _command_in(argv: Sequence[str]) -> str:
    """The subcommand named on the command line ('' when none is, e.g. ``iam-guard --help``)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else ""
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_command_in(arguments)).parse_args(arguments)
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
