"""Only for `scrapyd-deploy`, which builds its egg by running setup.py (it writes a setup.py of
its own, with the wrong metadata, when none exists), and for the license: everything else is
declared in pyproject.toml.

The license is the one field given here (pyproject.toml lists it as dynamic): a `license`
table in pyproject.toml warns on every install with setuptools 77+, and the SPDX string that
replaces it fails with the setuptools 65 a fresh Python 3.11 virtualenv brings, which
scrapyd-deploy uses. A plain `license` argument works with both, without a warning.
"""

from setuptools import setup

setup(license="MIT")
