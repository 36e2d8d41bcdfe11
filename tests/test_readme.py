"""The README is the first thing a user runs: its commands and schema must stay true."""

from __future__ import annotations

from pathlib import Path

from unpog_crawler.archive.schema_doc import END, START, schema_markdown

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_schema_section_matches_the_schema_documentation():
    section = README[README.index(START) : README.index(END) + len(END)]
    assert section == schema_markdown(), (
        "run: python -m unpog_crawler.archive.schema_doc --write README.md"
    )


def test_ci_runs_exactly_the_readme_test_command():
    command = next(
        line for line in README.splitlines() if "pytest" in line and line.startswith("python3")
    )
    ci_lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert command in ci_lines
