"""Only for `scrapyd-deploy`, which builds its egg by running setup.py (it writes a setup.py of
its own, with the wrong metadata, when none exists). Everything is declared in pyproject.toml."""

from setuptools import setup

setup()
