"""Every Python block in README.md and docs/**/*.md runs as written, and the engine's docstrings run too.

The runner takes each fenced block whose language is ``python`` (or ``py``, ``pycon``), in order, in one
namespace per file (a later block may use what an earlier one defined, as a reader would), inside a fresh
working folder.  A block with ``>>>`` prompts is a doctest (its printed output is compared, ``...``
matches anything); any other block is executed.  A block that cannot run here says so, with the reason,
in a comment on the line before it, and a block that needs an optional package names it, so that it runs
wherever the package is installed and is skipped elsewhere::

    <!-- not run: needs a GPU -->
    <!-- needs: torch -->
"""

from __future__ import annotations

import doctest
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE_MODULES = [
    "tinyae",
    "tinyae.backend",
    "tinyae.tensor",
    "tinyae.gradcheck",
    "tinyae.functional.basic",
    "tinyae.functional.normalization",
    "tinyae.summary",
    "tinyae.threads",
    "tinyae.cli",
]
LANGUAGES = ("python", "py", "pycon")
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)
NOT_RUN = re.compile(r"<!--\s*not run\s*:?(?P<reason>.*?)-->\s*$")
NEEDS = re.compile(r"<!--\s*needs\s*:\s*(?P<modules>[\w., ]+?)\s*-->\s*$")


@dataclass
class Block:
    line: int  # of the opening fence, counted from 1
    code: str
    skip: str | None  # the reason it is not run, or None


def python_blocks(text: str) -> list[Block]:
    """The Python blocks of a Markdown text, each with its line and its "not run" reason if any."""
    blocks = []
    for match in FENCE.finditer(text):
        if match["lang"].lower() not in LANGUAGES:
            continue
        before = text[: match.start()].rstrip().splitlines()
        marker = NOT_RUN.search(before[-1]) if before else None
        skip = None if marker is None else marker["reason"].strip()
        needs = NEEDS.search(before[-1]) if before else None
        if needs is not None:
            missing = [m for m in re.split(r"[,\s]+", needs["modules"]) if m and not _importable(m)]
            skip = f"needs {', '.join(missing)}, not installed here" if missing else None
        if skip == "":
            raise ValueError(
                f"line {text.count(chr(10), 0, match.start()) + 1}: '<!-- not run -->' needs a reason"
            )
        indent = len(match["indent"])
        code = "\n".join(line[indent:] for line in match["body"].splitlines())
        blocks.append(Block(text.count("\n", 0, match.start()) + 1, code, skip))
    return blocks


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def run_markdown(path: Path) -> tuple[int, int]:
    """Run every Python block of ``path``; return (blocks run, blocks skipped with a reason).

    A failing block raises AssertionError naming the file and the line of the block."""
    namespace: dict = {"__name__": "__docs__"}
    ran = skipped = 0
    for block in python_blocks(path.read_text(encoding="utf-8")):
        where = f"{path.name}:{block.line}"
        if block.skip is not None:
            skipped += 1
            continue
        ran += 1
        if re.search(r"^\s*>>>", block.code, re.M):
            test = doctest.DocTestParser().get_doctest(block.code, namespace, where, str(path), block.line)
            report: list[str] = []
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
            runner.run(test, out=report.append, clear_globs=False)
            assert runner.failures == 0, (
                f"{where}: the example does not print what it says\n{''.join(report)}"
            )
        else:
            try:
                exec(compile(block.code, where, "exec"), namespace)
            except Exception as error:
                raise AssertionError(f"{where}: the block raised {type(error).__name__}: {error}") from error
    return ran, skipped


MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_python_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # files the examples write (checkpoints, figures) land here
    run_markdown(path)


def test_readme_has_a_runnable_example() -> None:
    assert run_markdown(ROOT / "README.md")[0] > 0


def test_runner_catches_broken_blocks_and_honours_reasons(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 2\n```\n\n```python\n>>> x + 1\n3\n\n```\n")
    assert run_markdown(page) == (2, 0)
    page.write_text("```python\nundefined_name + 1\n```\n")
    with pytest.raises(AssertionError, match=r"page\.md:1: the block raised NameError"):
        run_markdown(page)
    page.write_text("text\n\n```python\n>>> 1 + 1\n3\n\n```\n")
    with pytest.raises(AssertionError, match=r"page\.md:3: the example does not print"):
        run_markdown(page)
    page.write_text("<!-- not run: needs a GPU -->\n```python\nimport cupy\n```\n```bash\nexit 1\n```\n")
    assert run_markdown(page) == (0, 1)
    page.write_text("<!-- not run -->\n```python\nimport cupy\n```\n")
    with pytest.raises(ValueError, match="needs a reason"):
        run_markdown(page)


@pytest.mark.parametrize("name", ENGINE_MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_a_block_that_needs_a_missing_package_is_skipped_and_one_that_is_installed_runs() -> None:
    text = (
        "<!-- needs: no_such_package_here -->\n```python\nimport no_such_package_here\n```\n\n"
        "<!-- needs: numpy -->\n```python\nimport numpy\n```\n"
    )
    first, second = python_blocks(text)
    assert first.skip == "needs no_such_package_here, not installed here"
    assert second.skip is None
