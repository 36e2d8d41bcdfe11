"""The package's boundaries, read from its source: parse/ and archive/ never import Scrapy,
parse/ never SQLite, cli/ never holds SQL, and no module or class grows past its size."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "unpog_crawler"
MAX_MODULE_LINES = 600
MAX_CLASS_LINES = 400

CRAWL_FRAMEWORK = {"scrapy", "twisted"}
SQLITE = {"sqlite3", "sqlite_utils"}
FORBIDDEN_IMPORTS = {
    "parse": CRAWL_FRAMEWORK | SQLITE,
    "archive": CRAWL_FRAMEWORK,
    "cli": SQLITE,
}
# SQL as this project writes it (keywords in capitals); a user-facing example command in a
# hint ("sqlite3 demo.db 'select …'") is not SQL the command runs.
SQL_KEYWORD = re.compile(r"\b(?:SELECT|INSERT|UPDATE|DELETE)\b")
SQL_CALLS = {"execute", "executemany", "executescript", "query"}


def modules(folder: str = "") -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def syntax(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_packages(tree: ast.Module) -> Iterator[str]:
    """The top-level package of every import, wherever it stands (in a function too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module.split(".")[0]


def sql_in(tree: ast.Module) -> Iterator[str]:
    """SQL statements written into the code: strings with SQL keywords, and calls that run
    SQL on a connection."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found = SQL_KEYWORD.search(node.value)
            if found:
                yield f"line {node.lineno}: string with {found.group(0)}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS
        ):
            yield f"line {node.lineno}: .{node.func.attr}(...)"


@pytest.mark.parametrize("folder", sorted(FORBIDDEN_IMPORTS))
def test_each_folder_imports_only_what_its_job_needs(folder):
    forbidden = FORBIDDEN_IMPORTS[folder]
    wrong = [
        f"{name(path)} imports {package}"
        for path in modules(folder)
        for package in imported_packages(syntax(path))
        if package in forbidden
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("imported", "forbidden"),
    [
        (["unpog_crawler.parse", "unpog_crawler.parse.pool"], CRAWL_FRAMEWORK | SQLITE),
        (["unpog_crawler.archive"], CRAWL_FRAMEWORK),
    ],
    ids=["parse", "archive"],
)
def test_importing_parse_or_archive_loads_no_forbidden_package_on_the_way(imported, forbidden):
    """The same boundary through every module they import in turn (health, site, items)."""
    program = (
        f"import sys\nimport {', '.join(imported)}\n"
        "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout.split()
    assert not sorted(forbidden & set(loaded))


def test_the_command_line_holds_no_sql():
    found = [f"{name(path)} {where}" for path in modules("cli") for where in sql_in(syntax(path))]
    assert not found, "\n".join(found)


def test_no_module_is_over_600_lines():
    long = {
        name(path): lines
        for path in modules()
        if (lines := path.read_bytes().count(b"\n")) > MAX_MODULE_LINES
    }
    assert not long, long


def test_no_class_is_over_400_lines():
    long = {
        f"{name(path)}: {node.name}": node.end_lineno - node.lineno + 1
        for path in modules()
        for node in ast.walk(syntax(path))
        if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES
    }
    assert not long, long


def test_the_checks_see_what_they_look_for():
    """The readers above find a forbidden import and SQL where there is some."""
    tree = ast.parse(
        "def f(db):\n    import scrapy.http\n    db.execute('DELETE FROM crawls')\n"
        "from sqlite_utils import Database\n"
    )
    assert set(imported_packages(tree)) == {"scrapy", "sqlite_utils"}
    assert len(list(sql_in(tree))) == 2
