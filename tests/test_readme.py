"""The README is the first thing a user runs, and docs/ the reference it points to: their
commands, schema, settings and links must stay true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from unpog_crawler import settings
from unpog_crawler.archive.schema_doc import END, START, schema_markdown

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"
SCHEMA_DOC = (DOCS / "schema.md").read_text(encoding="utf-8")
SETTINGS_DOC = (DOCS / "settings.md").read_text(encoding="utf-8")
# A Markdown link to a file of the repository: [text](path) or [text](path#anchor).
LOCAL_LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)#\s]+)(#[^)\s]*)?\)")


def test_the_schema_doc_matches_the_schema_documentation():
    section = SCHEMA_DOC[SCHEMA_DOC.index(START) : SCHEMA_DOC.index(END) + len(END)]
    assert section == schema_markdown(), (
        "run: python -m unpog_crawler.archive.schema_doc --write docs/schema.md"
    )


def test_ci_runs_exactly_the_readme_test_command():
    command = next(
        line for line in README.splitlines() if "pytest" in line and line.startswith("python3")
    )
    ci_lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert command in ci_lines


def test_the_first_set_up_command_installs_and_runs_the_crawl_and_points_to_the_demo():
    """The first command a newcomer copies runs the main job; offline, its one-line message
    (shown in the README) sends them to the demo, which comes before the live-site reference."""
    first = next(line for line in README.splitlines() if line.startswith("python3 -m venv"))
    assert first.endswith("pip install -q -e . && .venv/bin/unpog crawl")
    assert "Offline? `unpog demo` crawls a local replica of the site." in README
    assert README.index("## Try it first: `unpog demo`") < README.index("## Crawl the live site")


def test_every_unpog_setting_has_a_line_in_the_settings_doc():
    names = sorted(name for name in vars(settings) if name.startswith("UNPOG_"))
    documented = set(re.findall(r"`(UNPOG_[A-Z0-9_]+)`", SETTINGS_DOC))
    health = (DOCS / "reliability.md").read_text() + (DOCS / "reading-order.md").read_text()
    documented |= set(re.findall(r"`(UNPOG_HEALTH_[A-Z0-9_]+)`", health))
    missing = [name for name in names if name not in documented]
    # UNPOG_PROGRESS_INTERVAL: a knob for tests, not for users.
    assert missing == ["UNPOG_PROGRESS_INTERVAL"], missing


def anchors(text: str) -> set[str]:
    """GitHub's anchors for a Markdown file's headings."""
    found = set()
    for heading in re.findall(r"(?m)^#+ (.+)$", text):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize(
    "page", ["README.md", *sorted(f"docs/{p.name}" for p in DOCS.glob("*.md"))]
)
def test_every_link_to_a_file_of_the_repository_leads_somewhere(page):
    path = REPO / page
    text = path.read_text(encoding="utf-8")
    broken = []
    for target, anchor in LOCAL_LINK.findall(text):
        linked = (path.parent / target).resolve()
        if not linked.exists():
            broken.append(target)
        elif (
            anchor
            and linked.suffix == ".md"
            and anchor[1:] not in anchors(linked.read_text(encoding="utf-8"))
        ):
            broken.append(target + anchor)
    assert not broken, broken
