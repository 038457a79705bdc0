"""Scan an ImageFolder-layout directory: classes, image files, an optional train/val split.

Only names and sizes are read (no image is decoded), so opening a folder of
50,000 images takes a fraction of a second. Nothing in the folder is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError
from ..text import counted, listed, printable
from .walk import Walker

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"})
SPLIT_NAMES = {"train": ("train", "training"), "val": ("val", "valid", "validation")}


@dataclass(frozen=True)
class ImageEntry:
    """One image file: its path relative to the dataset root, size in bytes, class index and split."""

    path: str
    size: int
    label: int
    split: str = ""


@dataclass(frozen=True)
class FolderScan:
    """What a dataset folder holds; ``presplit`` when it has its own train/ and val/ folders."""

    root: Path
    classes: tuple[str, ...]
    entries: tuple[ImageEntry, ...]
    presplit: bool
    ignored: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _subfolders(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if not e.name.startswith(".") and _leads_to_folder(e))
    except PermissionError:
        raise DatasetError(f"{folder}: cannot be read (permission denied); check the folder's permissions") from None
    except OSError as error:
        raise DatasetError(f"{folder}: cannot be read ({error.strerror}); check the folder") from None


def _leads_to_folder(entry: os.DirEntry) -> bool:
    """Whether ``entry`` is a folder, or a link to one. A link that cannot be followed is not one, as a broken link is
    not: a link to itself made the whole dataset unreadable ("Too many levels of symbolic links", naming no entry)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _find_split(root: Path, names: list[str]) -> tuple[str, str] | None:
    """The names of the train and val folders if the dataset is already split."""
    lower = {n.lower(): n for n in names}
    train = next((lower[n] for n in SPLIT_NAMES["train"] if n in lower), None)
    val = next((lower[n] for n in SPLIT_NAMES["val"] if n in lower), None)
    return (train, val) if train and val else None


def check_root(root: Path) -> Path:
    """``root`` as an absolute path, or a DatasetError saying why it cannot be a dataset."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: no such folder; choose a folder with one subfolder of images per class")
    if not root.is_dir():
        raise DatasetError(f"{root}: is a file, not a folder; choose the folder that holds one subfolder per class")
    return root.resolve()


def scan_folder(root: Path | str) -> FolderScan:
    """Scan a dataset folder; DatasetError (naming the path and what to do) when it cannot be used."""
    root, classes, parts = check_layout(root)
    scan = _collect(root, classes, parts, presplit=len(parts) > 1)  # its own train/ and val/ parts
    # After the images are counted: a lone subfolder of text files was "only one class ('docs')", which sent the user
    # looking for a second class instead of saying the folder holds no images at all.
    _check_two_classes(parts[0][0], classes)
    return scan


def check_layout(root: Path | str) -> tuple[Path, tuple[str, ...], list[tuple[Path, str]]]:
    """The folder's root, classes, and the (folder, split) parts that hold them (train/ and val/, or the root itself),
    from the names of its subfolders alone (no image is listed); DatasetError when they cannot be a dataset's."""
    root = check_root(Path(root))
    names = _subfolders(root)
    split = _find_split(root, names)
    if split:
        train_dir, val_dir = split
        classes = tuple(_subfolders(root / train_dir))
        _check_classes(root / train_dir, classes)
        extra = sorted(set(_subfolders(root / val_dir)) - set(classes))
        if extra:
            raise DatasetError(f"{root / val_dir}: has classes that {train_dir}/ lacks ({listed(extra)}); give both the same class folders")
        parts = [(root / train_dir, "train"), (root / val_dir, "val")]
    else:
        _check_half_split(root, names)
        classes = tuple(names)
        _check_classes(root, classes)
        parts = [(root, "")]
    return root, classes, parts


def _check_half_split(root: Path, names: list[str]) -> None:
    """A train/ (or val/) that holds class folders, without its partner, is a split half-made, not a class."""
    for kind, partner in (("train", "val"), ("val", "train")):
        half = next((n for n in names if n.lower() in SPLIT_NAMES[kind]), None)
        if half is not None and _subfolders(root / half):
            raise DatasetError(f"{root / half}: holds class folders like a {kind} split, but {root} has no {partner}/ folder; "
                               f"add {partner}/ with the same class folders, or move the class folders of {half}/ up "
                               f"into {root} to let lrscope split them")


def _check_classes(folder: Path, classes: tuple[str, ...]) -> None:
    if not classes:
        loose = sum(1 for e in os.scandir(folder) if Path(e.name).suffix.lower() in IMAGE_EXTENSIONS)
        hint = (f" (it holds {counted(loose, 'image')} directly: move {'them' if loose > 1 else 'it'} into one subfolder per class)"
                if loose else "")
        raise DatasetError(f"{folder}: holds no class subfolders{hint}; put each class's images in its own subfolder, e.g. {folder}/cat/ and {folder}/dog/")


def _check_two_classes(folder: Path, classes: tuple[str, ...]) -> None:
    if len(classes) < 2:
        raise DatasetError(f"{folder}: has only one class ({classes[0]!r}); a classifier needs at least two class subfolders")


def _class_dirs(parts: list[tuple[Path, str]], classes: tuple[str, ...]) -> list[Path]:
    """Every class folder, train/ before val/; DatasetError when one is another (or inside another) through a link."""
    dirs = [base / name for base, _ in parts for name in classes if (base / name).is_dir()]
    real = {os.path.realpath(d): d for d in reversed(dirs)}
    for folder in dirs:
        path = os.path.realpath(folder)
        other = next((real[p] for p in (path, *_parents(path)) if p in real and real[p] != folder), None)
        if other is not None:
            raise DatasetError(f"{folder}: is {'the same folder as' if os.path.realpath(other) == path else 'a folder inside'} "
                               f"{other} (through a link), so the same images would count twice; remove the link, "
                               "or copy the images that belong to both")
    return dirs


def _refuse_unreadable(class_dir: Path, walker: Walker) -> None:
    """A class folder that could not be listed was said to have "no images" (it held 180)."""
    reason = dict(walker.report.unreadable).get(str(class_dir))
    if reason is not None:
        raise DatasetError(f"{class_dir}: cannot be read ({reason}); check the folder's permissions, or remove it")


def _parents(path: str) -> list[str]:
    return [str(p) for p in Path(path).parents]


def _collect(root: Path, classes: tuple[str, ...], parts: list[tuple[Path, str]], presplit: bool) -> FolderScan:
    entries, ignored, nested = [], [], []
    walker = Walker(root, _class_dirs(parts, classes))
    for base, split in parts:
        for label, name in enumerate(classes):
            class_dir = base / name
            if not class_dir.is_dir():
                continue
            found = 0
            prefix = class_dir.relative_to(root).as_posix() + "/"
            for rel, size in walker.files(class_dir):
                path = prefix + rel  # string work, as in Walker.files: pathlib per file was most of a scan
                if os.path.splitext(rel)[1].lower() in IMAGE_EXTENSIONS:
                    entries.append(ImageEntry(path, size, label, split))
                    found += 1
                    if "/" in rel:
                        nested.append(path)
                else:
                    ignored.append(path)
            if not found and split != "val":
                _refuse_unreadable(class_dir, walker)
                other = sum(1 for p in ignored if p.startswith(class_dir.relative_to(root).as_posix() + "/"))
                hint = f" ({counted(other, 'file')} with other extensions {'were' if other > 1 else 'was'} ignored)" if other else ""
                if not entries:  # the first subfolder already holds no image: most likely not a dataset folder at all
                    raise DatasetError(f"{root}: does not look like a dataset folder: its first subfolder {name!r} (of "
                                       f"{len(classes)}) holds no images{hint}; choose a folder with one subfolder of "
                                       "images per class")
                raise DatasetError(f"{class_dir}: class {name!r} has no images{hint}; add images or remove the folder")
    warnings = walker.report.warnings(root)
    if ignored:
        warnings.append(printable(f"{counted(len(ignored), 'file')} that {'are' if len(ignored) > 1 else 'is'} not an image "
                                  f"{'were' if len(ignored) > 1 else 'was'} ignored: {listed(sorted(ignored), 3)}"))
    if nested:
        # As torchvision's ImageFolder does; said, because a "rejected/" kept inside a class folder trained as that class.
        many = len(nested) > 1
        warnings.append(printable(f"{counted(len(nested), 'image')} in subfolders of class folders {'count' if many else 'counts'} in "
                                  f"{'their' if many else 'its'} class: {listed(sorted(nested), 3)}; move out any that are not of that class"))
    if presplit:
        warnings += _check_val(root, parts[1][0], classes, entries)
    return FolderScan(root, classes, tuple(entries), presplit, tuple(ignored), tuple(warnings))


def _check_val(root: Path, val_dir: Path, classes: tuple[str, ...], entries: list[ImageEntry]) -> list[str]:
    """DatasetError when val/ holds no image at all; a warning naming the classes it lacks."""
    in_val = {e.label for e in entries if e.split == "val"}
    if not in_val:
        raise DatasetError(f"{val_dir}: holds no images, so the run could not be validated; put validation images in "
                           f"{val_dir}/<class>/, or remove {val_dir.name}/ and move train/'s class folders up into {root} "
                           "to let lrscope split them")
    missing = [name for label, name in enumerate(classes) if label not in in_val]
    if not missing:
        return []
    return [printable(f"{val_dir.name}/ has no images of {counted(len(missing), 'class')} (e.g. {missing[0]!r}): "
                      "their accuracy is not measured")]
