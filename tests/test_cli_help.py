"""What `lrscope COMMAND --help` says of each option: a description, and only options the command has."""

import re

import pytest
from helpers import cli, command_lines

from engine.cli import build_parser

COMMANDS = command_lines(build_parser())


def listed(capsys, line) -> dict[str, str]:
    """Each argument `lrscope LINE --help` lists (its invocation, e.g. "--seed SEED"), with its description."""
    code, out, _ = cli(capsys, *line, "--help")
    assert code == 0, line
    entries, name = {}, None
    for text in out.splitlines():
        if text == "examples:":  # the top level's epilog: examples and exit statuses, not arguments
            break
        entry = re.fullmatch(r" {2}(\S.*?)(?: {2,}(\S.*))?", text)
        if entry:
            name = entry.group(1)
            entries[name] = entry.group(2) or ""
        elif name and text.startswith(" " * 3):
            entries[name] += " " + text.strip()
        else:
            name = None
    return entries


@pytest.fixture(autouse=True)
def one_line_each(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # argparse's width: an entry's description on its line or the next


@pytest.mark.parametrize("line", COMMANDS, ids=" ".join)
def test_every_option_and_argument_says_what_it_is(capsys, line):
    """--optimizer and --augment said only "(default sgd)", `resume --json` and `schedule plot FILE -o OUTPUT` nothing."""
    bare = {name: text for name, text in listed(capsys, line).items() if not re.sub(r"\(default [^)]*\)", "", text).strip()}
    assert not bare, f"lrscope {' '.join(line)} --help"


@pytest.mark.parametrize("line", COMMANDS, ids=" ".join)
def test_a_help_names_only_options_its_command_has(capsys, line):
    """`range-test --help` and `curvature --help` said "or the one a --schedule file was trained with", and `resume --help`
    "--batch-size is per process": neither command has that option. (Another command's, in backquotes, may be named.)"""
    entries = listed(capsys, line)
    own = {option for name in entries for option in re.findall(r"--[a-z][a-z-]*", name)}
    named = {option for text in entries.values() for option in re.findall(r"--[a-z][a-z-]*", re.sub(r"`[^`]*`", "", text))}
    assert named <= own, f"lrscope {' '.join(line)} --help names {sorted(named - own)}"


def test_the_defaults_of_diverge_factor_and_bn_mode_are_said(capsys):
    assert "(default 4)" in listed(capsys, ("range-test",))["--diverge-factor DIVERGE_FACTOR"]
    assert "(default batch)" in listed(capsys, ("curvature",))["--bn-mode {batch,running}"]


def test_the_top_level_help_says_the_exit_statuses_the_readme_lists_and_the_folders(capsys):
    """A script author working from --help alone learned no exit status, nor where --json goes, nor the LRSCOPE_*
    folders (helper-82)."""
    from helpers import ROOT

    code, out, _ = cli(capsys, "--help")
    said = dict(re.findall(r"^ {2}(\d+) +(\S.*)$", out, re.MULTILINE))
    in_readme = re.findall(r"^\| (\d+) \|", (ROOT / "README.md").read_text(), re.MULTILINE)
    assert code == 0 and set(in_readme) <= set(said) and "124" in said, (said, in_readme)
    assert "--json prints JSON on stdout, also when the command fails" in out
    for name in ("RUNS", "TUNES", "LIBRARY", "CACHE", "SETTINGS"):
        assert f"$LRSCOPE_{name}_DIR" in out
