"""The `lrscope` command: with no command, `gui`, or a dataset folder, it opens the desktop app; `train`, `range-test`,
`schedule`, `runs`, `show` and `resume` run headless (see `lrscope --help`).

Inside the package, not a top-level `main` module: installed as `main`, it was shadowed by any `main.py` in the folder
`python -m lrscope` or `torchrun -m lrscope` ran from, which then crashed (helper-90).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .samples import sample

SAMPLE = sample("digits")
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")
NO_DISPLAY = ("lrscope: no display found (DISPLAY and WAYLAND_DISPLAY are not set), so the window cannot open.\n"
              "  Run it under a virtual display:  xvfb-run -a lrscope\n"
              "  or train headless:               lrscope train --data DIR   (see lrscope --help)")


def has_display() -> bool:
    """Whether Qt can open a window here (always true off Linux)."""
    if not sys.platform.startswith("linux"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in HEADLESS_PLATFORMS:
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def gui_parser() -> argparse.ArgumentParser:
    """Options of the desktop app."""
    parser = argparse.ArgumentParser(prog="lrscope [gui]", description="Open the lrscope desktop app.")
    sample_path = str(SAMPLE).replace("%", "%%")  # argparse formats help with %
    parser.add_argument("--data", type=Path,
                        help=f"dataset folder to open (default: the last one, or the bundled digits sample: {sample_path})")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS",
                        help="close the window after SECONDS (with --start: SECONDS after the run ends); for smoke tests")
    parser.add_argument("--start", action="store_true", help="start training as soon as the dataset is open")
    parser.add_argument("--screenshot", type=Path, metavar="FILE", help="with --quit-after: save the screen to FILE just before closing")
    return parser


def wants_gui(argv: list[str]) -> bool:
    """No command, `gui`, or only app options (not --help/--version)."""
    if not argv or argv[0] == "gui":
        return True
    return argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")


def folder_to_open(argv: list[str]) -> list[str]:
    """`lrscope DIR` as `lrscope --data DIR`: what people type first (it said "invalid choice" and listed the commands).
    A command of that name comes first. `lrscope gui DIR` alike ("unrecognized arguments")."""
    if argv[:1] == ["gui"]:
        return ["gui", *folder_to_open(argv[1:])]
    if not argv or argv[0].startswith("-") or not os.path.isdir(argv[0]):
        return argv
    from engine.cli import command_names  # only here: a command line that names a folder

    return argv if argv[0] in command_names() else ["--data", *argv]


def not_a_folder(argv: list[str]) -> str | None:
    """Why `lrscope PATH` cannot open PATH, when the first word is a path but no folder (None otherwise: a bare word
    that is no command is left to the command parser, which lists the commands). A missing or mistyped folder said
    "invalid choice: '/path/…' (choose from 'gui', 'train', …)", as if a command had been mistyped."""
    word = argv[0] if argv else ""
    if word.startswith("-") or os.path.isdir(word) or not _a_path(word):
        return None
    from engine.text import printable

    what = "not a folder" if os.path.exists(word) else "no such folder"
    return (f"lrscope: error: {what}: {printable(word)}; check the path (`lrscope DIR` opens a dataset folder, one subfolder "
            "of images per class, in the window; `lrscope --help` lists the commands)")


def _a_path(word: str) -> bool:
    """Whether ``word`` is meant as a path: a command never holds a separator or starts with ~ or ., and an existing
    file named like no command is one."""
    if os.sep in word or (os.altsep and os.altsep in word) or word.startswith(("~", ".")):
        return True
    if not os.path.exists(word):
        return False
    from engine.cli import command_names

    return word not in command_names()


def main(argv: list[str] | None = None) -> int:
    """The `lrscope` command."""
    argv = folder_to_open(list(sys.argv[1:] if argv is None else argv))
    problem = not_a_folder(argv)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if wants_gui(argv):
        args = gui_parser().parse_args(argv[1:] if argv and argv[0] == "gui" else argv)
        if not has_display():
            print(NO_DISPLAY, file=sys.stderr)
            return 2
        from gui.app import run_app

        return run_app(data=args.data, sample=SAMPLE, quit_after=args.quit_after, start=args.start, screenshot=args.screenshot)
    from engine.cli import ignore_signals, run_cli

    status = run_cli(argv)
    ignore_signals()
    return status
