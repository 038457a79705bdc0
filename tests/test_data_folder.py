"""Scanning dataset folders: layouts, and each bad input with its clear message."""

import os

import pytest
from helpers import write_image

from engine.data import scan_folder
from engine.errors import DatasetError


def test_classes_and_nested_images(tmp_path):
    write_image(tmp_path / "b" / "x.png")
    write_image(tmp_path / "a" / "deep" / "er" / "y.jpg", "RGB")
    write_image(tmp_path / "a" / "z.PNG")
    scan = scan_folder(tmp_path)
    assert scan.classes == ("a", "b")
    assert sorted((e.path, e.label) for e in scan.entries) == [("a/deep/er/y.jpg", 0), ("a/z.PNG", 0), ("b/x.png", 1)]
    assert not scan.presplit


def test_non_image_and_hidden_files(tmp_path):
    write_image(tmp_path / "a" / "1.png")
    write_image(tmp_path / "b" / "1.png")
    (tmp_path / "a" / "notes.txt").write_text("hi")
    (tmp_path / "b" / ".DS_Store").write_text("")
    (tmp_path / ".hidden").mkdir()
    scan = scan_folder(tmp_path)
    assert scan.classes == ("a", "b")
    assert scan.ignored == ("a/notes.txt",)
    assert "1 file that is not an image was ignored: a/notes.txt" in scan.warnings


def test_images_in_subfolders_of_a_class_count_in_it_and_are_said(tmp_path):
    """A "rejected/" kept inside a class folder trained as that class without a word (ImageFolder counts them too)."""
    for name in ("a/1.png", "b/1.png", "b/rejected/2.png", "b/rejected/3.png", "b/old/x/4.png", "b/old/5.png"):
        write_image(tmp_path / name)
    scan = scan_folder(tmp_path)
    assert scan.classes == ("a", "b") and len(scan.entries) == 6
    assert ("4 images in subfolders of class folders count in their class: b/old/5.png, b/old/x/4.png, b/rejected/2.png, … "
            "(4 in all); move out any that are not of that class") in scan.warnings
    split = tmp_path / "split"  # pre-split: the class folders are one level further down, and none of theirs is nested
    for name in ("train/a/1.png", "train/b/1.png", "train/b/sub/2.png", "val/a/1.png", "val/b/1.png"):
        write_image(split / name)
    said = [w for w in scan_folder(split).warnings if "subfolders of class folders" in w]
    assert said == ["1 image in subfolders of class folders counts in its class: train/b/sub/2.png; move out any that are not "
                    "of that class"]


def test_presplit_train_val(tmp_path):
    for split in ("train", "val"):
        for name in ("cat", "dog"):
            write_image(tmp_path / split / name / "1.png")
    scan = scan_folder(tmp_path)
    assert scan.presplit and scan.classes == ("cat", "dog")
    assert {e.split for e in scan.entries} == {"train", "val"}


@pytest.mark.parametrize("setup, expected", [
    (lambda root: None, "no such folder"),
    (lambda root: root.write_text("x"), "is a file, not a folder"),
    (lambda root: root.mkdir(), "holds no class subfolders"),
    (lambda root: write_image(root / "loose.png"), "holds 1 image directly"),
    (lambda root: write_image(root / "only" / "1.png"), "has only one class ('only')"),
    (lambda root: (write_image(root / "a" / "1.png"), (root / "b").mkdir(), (root / "b" / "r.txt").write_text("")), "class 'b' has no images (1 file with other extensions was ignored)"),
    (lambda root: [(root / name).mkdir(parents=True) for name in ("bin", "etc", "lib")], "does not look like a dataset folder: its first subfolder 'bin' (of 3)"),
])
def test_bad_folders_name_the_path_and_what_to_do(tmp_path, setup, expected):
    root = tmp_path / "data"
    setup(root)
    with pytest.raises(DatasetError) as error:
        scan_folder(root)
    assert expected in str(error.value)
    assert str(tmp_path) in str(error.value)
    assert "\n" not in str(error.value)


def test_val_with_a_class_train_lacks(tmp_path):
    write_image(tmp_path / "train" / "a" / "1.png")
    write_image(tmp_path / "train" / "b" / "1.png")
    write_image(tmp_path / "val" / "zebra" / "1.png")
    with pytest.raises(DatasetError, match="has classes that train/ lacks \\(zebra\\)"):
        scan_folder(tmp_path)


def test_unreadable_subfolder_is_skipped_with_a_warning(tmp_path, monkeypatch):
    write_image(tmp_path / "a" / "1.png")
    write_image(tmp_path / "b" / "1.png")
    write_image(tmp_path / "b" / "locked" / "2.png")
    real_scandir = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    scan = scan_folder(tmp_path)
    assert len(scan.entries) == 2
    assert any("locked: cannot be read (Permission denied)" in w for w in scan.warnings)


@pytest.mark.parametrize("locked", ["a", "b"])
def test_an_unreadable_class_folder_is_said_to_be_unreadable_not_empty(tmp_path, monkeypatch, locked):
    """It was "class 'b' has no images; add images or remove the folder" for a folder of 180 images."""
    for name in "ab":
        write_image(tmp_path / name / "1.png")
    real_scandir = os.scandir

    def scandir(path):
        if str(path) == str(tmp_path / locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(DatasetError) as refused:
        scan_folder(tmp_path)
    assert str(refused.value) == f"{tmp_path / locked}: cannot be read (Permission denied); check the folder's permissions, or remove it"
