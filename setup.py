"""The one build step pyproject.toml cannot declare: the bundled sample datasets go into the package.

A checkout keeps them in the top-level resources/datasets; an installed package has no folder beside it, so the built
package carries a copy as lrscope/datasets, where lrscope/samples.py looks first.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SAMPLES = Path(__file__).resolve().parent / "resources" / "datasets"


class BuildWithSamples(build_py):
    """build_py, then a fresh copy of the samples in the built package (an editable install reads the checkout's)."""

    def run(self):
        super().run()
        if not self.editable_mode:
            copy = Path(self.build_lib) / "lrscope" / "datasets"
            shutil.rmtree(copy, ignore_errors=True)  # a build folder left by an earlier build may hold removed images
            shutil.copytree(SAMPLES, copy)


setup(cmdclass={"build_py": BuildWithSamples})
