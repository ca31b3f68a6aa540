"""docs/cli.md is held to `iam-guard <command> --help`.

Each command has a section headed with its name (`## iam-guard audit`) holding a table whose first column
is "Flag". Every flag the command's --help shows must be in that table, and every flag in the table must
exist. A new flag therefore fails this test until docs/cli.md documents it.
"""

from __future__ import annotations

import argparse
import re

import pytest
from tests.docs.pages import DOCS, sections, tables

from cli.main import build_parser

PAGE = DOCS / "cli.md"
ROOT_COMMAND = "iam-guard"
ROOT_SECTION = "Global options"  # the section for flags of `iam-guard` itself, if it ever has any
_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)")


def _commands(
    parser: argparse.ArgumentParser, path: str = ROOT_COMMAND
) -> dict[str, argparse.ArgumentParser]:
    """Every command path ("iam-guard", "iam-guard audit", nested subcommands too) -> its parser."""
    found = {path: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_commands(sub, f"{path} {name}"))
    return found


def _help_flags(parser: argparse.ArgumentParser) -> set[str]:
    """The flags `--help` shows (a flag with help=SUPPRESS is hidden, so not required in the docs)."""
    return {
        option
        for action in parser._actions
        if action.help != argparse.SUPPRESS and not isinstance(action, argparse._HelpAction)
        for option in action.option_strings
    }


COMMANDS = _commands(build_parser())
HELP_FLAGS = {command: _help_flags(parser) for command, parser in COMMANDS.items()}


def _section_name(command: str) -> str:
    return ROOT_SECTION if command == ROOT_COMMAND else command


def _documented() -> dict[str, set[str] | None]:
    """Section title -> the flags in its "Flag" tables (None: the section has no such table)."""
    found: dict[str, set[str] | None] = {}
    for section in sections(PAGE.read_text(encoding="utf-8")):
        flag_tables = [t for t in tables(section.lines) if t[0][0].lower() == "flag"]
        if not flag_tables:
            found.setdefault(section.title, None)
            continue
        flags = {flag for table in flag_tables for row in table[1:] for flag in _FLAG.findall(row[0])}
        found[section.title] = flags
    return found


DOCUMENTED = _documented()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_flag_in_the_help_is_documented(command: str) -> None:
    wanted = HELP_FLAGS[command]
    if command == ROOT_COMMAND and not wanted:
        return  # `iam-guard` itself has only --help today: no section needed
    section = _section_name(command)
    assert section in DOCUMENTED, f"docs/cli.md has no section '## {section}' for `{command}`"
    listed = DOCUMENTED[section]
    assert listed is not None, (
        f"docs/cli.md section '## {section}' has no flag table (a table whose first column is 'Flag'), "
        f"but `{command} --help` shows {', '.join(sorted(wanted))}"
    )
    missing = sorted(wanted - listed)
    assert not missing, "\n".join(
        f"`{command} --help` shows {flag}, but the flag table under '## {section}' in docs/cli.md "
        "does not list it"
        for flag in missing
    )


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_documented_flag_exists(command: str) -> None:
    listed = DOCUMENTED.get(_section_name(command)) or set()
    unknown = sorted(listed - HELP_FLAGS[command])
    assert not unknown, "\n".join(
        f"docs/cli.md lists {flag} under '## {_section_name(command)}', but `{command} --help` has no "
        "such flag"
        for flag in unknown
    )


def test_every_command_section_is_a_command() -> None:
    sections_named_like_commands = {
        title for title in DOCUMENTED if title.startswith(f"{ROOT_COMMAND} ") or title == ROOT_SECTION
    }
    known = {_section_name(command) for command in COMMANDS}
    stale = sorted(sections_named_like_commands - known)
    assert not stale, f"docs/cli.md documents commands that do not exist: {', '.join(stale)}"


def test_every_subcommand_has_a_section() -> None:
    missing = sorted(c for c in COMMANDS if c != ROOT_COMMAND and c not in DOCUMENTED)
    assert not missing, f"docs/cli.md has no section for: {', '.join(missing)} (add '## <command>')"


def test_the_page_documents_the_flags_this_test_knows_of() -> None:
    # Guards the parser of this test itself: it must see the flags of the page as it is written.
    assert DOCUMENTED["iam-guard audit"] is not None
    assert {"--format", "--grace-days", "--remediate"} <= DOCUMENTED["iam-guard audit"]
    assert {"--mfa-mode", "--no-ip-restriction"} <= (DOCUMENTED["iam-guard policy"] or set())
