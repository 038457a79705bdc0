"""The package pip builds from this tree: what someone who installs lrscope gets."""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT

from lrscope.samples import samples_folder

# Only what the package is built from: pip builds in the source folder (build/, *.egg-info), which must not be the
# checkout other tests and people are using.
NOT_BUILT_FROM = {"tests", "bench", "tools", "docs", "build"}


def pip(*args, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "pip", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def source_copy(target: Path) -> Path:
    def skipped(folder, names):
        top = Path(folder) == ROOT
        return [n for n in names if n.startswith(".") or n == "__pycache__" or n.endswith(".egg-info") or (top and n in NOT_BUILT_FROM)]

    return Path(shutil.copytree(ROOT, target, ignore=skipped))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel `pip wheel` builds, and what the build printed."""
    tmp = tmp_path_factory.mktemp("wheel")
    printed = pip("wheel", "-v", "--no-deps", "--no-build-isolation", "-w", tmp / "out", source_copy(tmp / "src"), cwd=tmp)
    return next((tmp / "out").glob("lrscope-*.whl")), printed


def test_the_wheel_carries_the_bundled_samples_and_their_attribution(wheel):
    """The wheel held only Python files: an installed lrscope opened a sample folder that did not exist."""
    names = set(zipfile.ZipFile(wheel[0]).namelist())
    bundled = {f"lrscope/datasets/{p.relative_to(samples_folder()).as_posix()}" for p in samples_folder().rglob("*") if p.is_file()}
    assert "lrscope/datasets/ATTRIBUTION.md" in bundled and len(bundled) > 3000
    assert bundled <= names


def test_building_prints_no_deprecation_warning(wheel):
    """Every build printed setuptools' warning that `project.license` as a table is deprecated."""
    assert "Warning:" not in wheel[1], [line for line in wheel[1].splitlines() if "Warning:" in line]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """The wheel installed with `pip install --no-deps --target`: the folder it went to."""
    target = tmp_path_factory.mktemp("installed")
    pip("install", "--no-deps", "--target", target, wheel[0], cwd=target.parent)
    return target


def test_the_installed_app_opens_the_bundled_sample_from_where_it_is_installed(installed, tmp_path):
    """Installed with `pip install --target`, `lrscope` looked for the sample beside main.py and said "no such folder".
    Now it opens the copy inside the package, and `lrscope gui --help` says where that is (for `--data`)."""
    target = installed
    env = dict(os.environ, PYTHONPATH=str(target), COLUMNS="10000")  # one line per option
    told = subprocess.run([sys.executable, target / "bin" / "lrscope", "gui", "--help"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert told.returncode == 0, told.stderr
    sample = Path(re.search(r"or the bundled digits sample: (.+)\)$", told.stdout, re.MULTILINE).group(1))
    assert sample.is_relative_to(target) and sample.name == "digits"
    classes = [folder for folder in sample.iterdir() if folder.is_dir()]
    assert len(classes) == 10 and all(any(folder.glob("*.png")) for folder in classes)
    assert (sample.parent / "ATTRIBUTION.md").is_file() and (sample.parent / "digits-camera2").is_dir()


def test_python_m_lrscope_is_lrscope_from_a_folder_with_a_main_py_of_its_own(installed, tmp_path):
    """The package installed a top-level `main` module: run from a project with its own main.py, `python -m lrscope`
    (and `torchrun -m lrscope`, the README's way to several processes) ran that file and crashed (helper-90)."""
    target = installed
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.py").write_text('print("the project\'s own main.py ran")\n')
    env = dict(os.environ, PYTHONPATH=str(target))
    done = subprocess.run([sys.executable, "-m", "lrscope", "--version"], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("lrscope "), done.stdout + done.stderr
    assert not (target / "main.py").exists()
