"""Walk class folders under the symlink policy: every scan ends, and every real file counts once.

The policy (also in the README):
- A link that leads back into the dataset's class folders (``ln -s . self``, ``ln -s .. up``, a link
  to another class's image) is not followed: what it points to counts where it really is.
- A link that leads elsewhere (a shared pool of images, another disk) is followed, once per real
  folder, and reported when it leaves the dataset folder.
- A folder reached a second time (two links to one folder, a bind-mount loop) is skipped.
- A file reached twice (hard links, two links to one image) counts once, under the first class
  it was found in (classes in name order, train/ before val/).
Everything skipped or merged is reported in the dataset's problems list.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DatasetError
from ..text import printable

MAX_ENTRIES = 20_000_000


@dataclass
class WalkReport:
    """What the walk did not count as found, each as a path (and what it was found as)."""

    unreadable: list[str] = field(default_factory=list)
    links_back: list[str] = field(default_factory=list)
    links_out: list[str] = field(default_factory=list)
    revisits: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    special: list[str] = field(default_factory=list)

    def warnings(self, root: Path) -> list[str]:
        """One line per kind of thing skipped or merged, with an example."""
        def rel(path: str) -> str:
            return os.path.relpath(path, root)

        lines = [f"{p}: cannot be read ({reason}); skipped" for p, reason in self.unreadable[:20]]
        if self.links_back:
            lines.append(f"{len(self.links_back)} links lead back into the dataset's class folders and were not followed "
                         f"(what they point to counts where it is), e.g. {rel(self.links_back[0])}")
        if self.links_out:
            lines.append(f"{len(self.links_out)} links lead outside the dataset folder and were followed, "
                         f"e.g. {rel(self.links_out[0])} → {os.path.realpath(self.links_out[0])}")
        if self.revisits:
            lines.append(f"{len(self.revisits)} folders were reached a second time (through links) and skipped, "
                         f"e.g. {rel(self.revisits[0])}")
        if self.duplicates:
            path, first = self.duplicates[0]
            lines.append(f"{len(self.duplicates)} files are the same file as one found before (links or hard links) and "
                         f"count once, under the first class found, e.g. {rel(path)} is {rel(first)}")
        if self.special:
            lines.append(f"{len(self.special)} entries are not regular files (pipes, devices, sockets, broken links) and "
                         f"were skipped, e.g. {rel(self.special[0])}")
        return [printable(line) for line in lines]


class Walker:
    """Yields the files of class folders; one walker per scan, so folders and files are counted once overall."""

    def __init__(self, root: Path, class_dirs: list[Path]):
        self.root = os.path.realpath(root)
        self.owned = {os.path.realpath(d) for d in class_dirs}
        self.above = {parent for d in self.owned for parent in _ancestors(d)}
        self.seen_dirs: set[tuple[int, int]] = set()
        self.seen_files: dict[tuple[int, int], str] = {}
        self.report = WalkReport()
        self.entries = 0

    def files(self, folder: Path) -> Iterator[tuple[str, int]]:
        """(path relative to ``folder`` in POSIX form, size) of every file to count under ``folder``."""
        # (folder, reached through a link): outside the class folders, any file may be met again by another link
        stack = [(str(folder), False)] if self._first_visit(str(folder)) else []
        # Every path walked is ``folder``'s text plus a tail (links are followed under their own names): the tail is
        # sliced off: pathlib per file, here and in folder._collect, was three quarters of a scan's time.
        start = len(os.path.join(str(folder), ""))
        while stack:
            current, linked = stack.pop()
            try:
                with os.scandir(current) as found:
                    entries = sorted(found, key=lambda e: e.name)
            except OSError as error:
                self.report.unreadable.append((current, error.strerror or type(error).__name__))
                continue
            self.entries += len(entries)
            if self.entries > MAX_ENTRIES:
                raise DatasetError(f"{folder}: holds more than {MAX_ENTRIES:,} entries (links included); "
                                   "is it the right folder?")
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    kept = self._entry(entry, stack, linked)
                except OSError as error:
                    self.report.unreadable.append((entry.path, error.strerror or type(error).__name__))
                    continue
                if kept is not None:
                    yield _posix(entry.path[start:]), kept

    def _entry(self, entry: os.DirEntry, stack: list, linked: bool) -> int | None:
        """The size of a file to count, or None (a folder to walk is pushed on ``stack``)."""
        if entry.is_symlink():
            return self._link(entry, stack)
        if entry.is_dir(follow_symlinks=False):
            if self._first_visit(entry.path):
                stack.append((entry.path, linked))
            return None
        if not entry.is_file(follow_symlinks=False):
            self.report.special.append(entry.path)
            return None
        info = entry.stat(follow_symlinks=False)
        # In a class folder, only a file with several names can be met twice: skip the bookkeeping otherwise.
        return self._count_once(entry.path, info) if linked or info.st_nlink > 1 else info.st_size

    def _link(self, entry: os.DirEntry, stack: list) -> int | None:
        try:
            info = os.stat(entry.path)
        except OSError:
            self.report.special.append(entry.path)  # dangling, or a loop of links
            return None
        target = os.path.realpath(entry.path)
        if target in self.above or self._inside_owned(target):
            self.report.links_back.append(entry.path)
            return None
        if not _within(target, self.root):
            self.report.links_out.append(entry.path)
        if entry.is_dir():
            if self._first_visit(entry.path):
                stack.append((entry.path, True))
            return None
        if not entry.is_file():
            self.report.special.append(entry.path)
            return None
        return self._count_once(entry.path, info)

    def _first_visit(self, path: str) -> bool:
        info = os.stat(path)
        key = (info.st_dev, info.st_ino)
        if key in self.seen_dirs:
            self.report.revisits.append(path)
            return False
        self.seen_dirs.add(key)
        return True

    def _count_once(self, path: str, info: os.stat_result) -> int | None:
        key = (info.st_dev, info.st_ino)
        first = self.seen_files.setdefault(key, path)
        if first != path:
            self.report.duplicates.append((path, first))
            return None
        return info.st_size

    def _inside_owned(self, target: str) -> bool:
        return any(parent in self.owned for parent in (target, *_ancestors(target)))


def _ancestors(path: str) -> list[str]:
    """Every folder above ``path`` (an absolute, resolved path), nearest first."""
    parents, current = [], os.path.dirname(path)
    while True:
        parents.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            return parents
        current = parent


def _posix(path: str) -> str:
    return path if os.sep == "/" else path.replace(os.sep, "/")


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
