"""``iam-guard``: the command-line entry point. Thin: parse flags into settings, call core, print.

stdout carries only the result (JSON, table, CSV); logs and progress go to stderr. Expected failures
(``IamGuardError``) print one line on stderr and exit 2 (bad input) or 1 (AWS failure), never a traceback.

Start-up stays small: only the chosen subcommand's module is imported (``iam-guard --help`` imports none),
and each command module imports what its run needs when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
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
    "redrive-alerts": "Re-send the alerts Teams or the webhook did not take, from their dead-letter queue "
    "(--apply to send).",
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
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_text in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if command in (None, name):
            _module(name).add_arguments(command_parser)
    return parser


def _module(name: str) -> Any:
    return importlib.import_module(f"cli.commands.{name.replace('-', '_')}")


def _command_in(argv: Sequence[str]) -> str:
    """The subcommand named on the command line ('' when none is, e.g. ``iam-guard --help``)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else ""
    return ""


class _Version(argparse.Action):
    """``iam-guard --version``: the installed distribution's version, read only when asked."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("iam-guard")
        except PackageNotFoundError:  # run from a source tree that was never installed
            text = "unknown (not installed)"
        print(f"iam-guard {text}")  # the result: stdout
        parser.exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_command_in(arguments)).parse_args(arguments)
    if not hasattr(args, "profile"):  # a command that never calls AWS
        return _run(args)
    from core.aws.clients import configure, connection

    before = connection()
    try:
        return _run(args)
    finally:  # the process's clients point where they did (main() is also called in-process, by tests)
        configure(before)


def _run(args: argparse.Namespace) -> int:
    try:
        if hasattr(args, "profile"):  # a command that calls AWS: --profile, --region, --endpoint-url
            from cli.options import connect_from_args

            connect_from_args(args)
        code = int(_module(args.command).run(args))
        sys.stdout.flush()  # a closed pipe or a full disk shows here, not at exit
        return code
    except IamGuardError as exc:
        _say(f"iam-guard {args.command}: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say("iam-guard: interrupted")
        return 130
    except BrokenPipeError:  # `iam-guard audit | head`: the reader left; nothing to say
        _quiet_stdout()
        return 1
    except OSError as exc:  # stdout (or a file) could not be written: a full disk, a closed terminal
        _quiet_stdout()
        _say(f"iam-guard {args.command}: cannot write the result: {exc.strerror or exc}")
        return 1
    except Exception as exc:
        if not _from_the_aws_sdk(exc):
            raise  # a bug: its traceback is what a report needs
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        _say(f"iam-guard {args.command}: AWS call failed: {type(exc).__name__}: {first}")
        return 1


def _from_the_aws_sdk(exc: BaseException) -> bool:
    """An exception botocore or urllib3 raised (the network or AWS answered what no adapter expected)."""
    return type(exc).__module__.split(".")[0] in {"botocore", "urllib3", "boto3"}


def _say(line: str) -> None:
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's own flush at exit raises nothing more."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
