"""``iam-guard demo``: the whole product on an embedded AWS emulator (moto on 127.0.0.1), no account.

The story and the emulator live in the ``demo`` package; this command prints the story as it plays
(stdout: the demo's output is its result) and its summary. Failure: one line on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from core.model.errors import IamGuardError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an unexpected failure, show the traceback instead of one line",
    )


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("moto") is None:  # an installed package without the demo extra
        raise IamGuardError("needs moto's AWS emulator: pip install 'iam-guard[demo]'")
    from demo.report import summary
    from demo.story import play_demo

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        demo_run = play_demo(say)
    except IamGuardError:
        raise  # one line from cli.main, with its exit code
    except Exception as exc:  # a bug somewhere in the product: still one line unless asked
        if args.debug:
            raise
        print(f"iam-guard demo: failed: {type(exc).__name__}: {exc} (rerun with --debug)", file=sys.stderr)
        return 1
    for line in summary(demo_run):
        say(line)
    say(f"\nDemo finished in {demo_run.seconds:.1f} s.")
    return 0
