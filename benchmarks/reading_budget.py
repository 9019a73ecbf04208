"""The reading budget: how many lines of tinyae code a reader must follow for one forward and backward.

It runs each path once to warm up, then again under ``sys.settrace``, collecting every tinyae function that
actually executes.  Each function's source is counted in code lines only: lines that hold a token other
than a comment, with docstrings and blank lines left out.  A line is counted once per file, so a nested
function is not counted twice.  The paths:

- ``linear``: ``F.sigmoid(F.linear(x, W, b))`` forward, then ``.backward(g)`` with a given output gradient;
- ``sequential``: ``F.mse_loss(nn.Sequential(nn.Linear, nn.Sigmoid)(x), target)`` forward and
  ``loss.backward()``.

    python benchmarks/reading_budget.py            # the table of functions, files and totals
    python benchmarks/reading_budget.py --check    # exit status 1 when the linear path is over budget
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
import tokenize
from collections.abc import Callable
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import numpy as np

import tinyae
import tinyae.functional as F
from tinyae import nn

PACKAGE = Path(tinyae.__file__).resolve().parent
BUDGET_LINES, BUDGET_FILES = 150, 4  # for the linear path (DESIGN.md section 9)


def code_lines(path: Path) -> set[int]:
    """Line numbers of ``path`` that hold code: not blank, not only a comment, not part of a docstring."""
    source = path.read_text()
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            continue
        if tok.type == tokenize.ENDMARKER:
            continue
        lines.update(range(tok.start[0], tok.end[0] + 1))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if is_doc and isinstance(first.value.value, str):  # type: ignore[union-attr]
                lines.difference_update(range(first.lineno, (first.end_lineno or 0) + 1))
    return lines


def function_spans(path: Path) -> dict[int, tuple[str, int, int]]:
    """For each function in ``path``: the line its code object starts on -> (qualified name, first, last)."""
    spans: dict[int, tuple[str, int, int]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                name = f"{prefix}{child.name}"
                spans[first] = (name, first, child.end_lineno or child.lineno)
                spans[child.lineno] = spans[first]
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text()), "")
    return spans


def traced_functions(run: Callable[[], Any]) -> set[CodeType]:
    """The code objects of the tinyae functions that ``run()`` executes."""
    seen: set[CodeType] = set()
    root = str(PACKAGE)

    def tracer(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(root):
            seen.add(frame.f_code)

    run()  # warm up: first-use work (backend probes, imports) is not part of the path
    sys.setprofile(tracer)
    try:
        run()
    finally:
        sys.setprofile(None)
    return seen


def budget(run: Callable[[], Any]) -> dict[str, Any]:
    """Functions, files and total code lines a reader follows for ``run()``."""
    per_file: dict[Path, set[int]] = {}
    functions: list[tuple[str, str, int]] = []
    for code in traced_functions(run):
        path = Path(code.co_filename)
        if code.co_name.startswith("<"):  # comprehensions and generator expressions: part of their function
            continue
        spans = function_spans(path)
        if code.co_firstlineno not in spans:
            continue
        name, first, last = spans[code.co_firstlineno]
        lines = code_lines(path) & set(range(first, last + 1))
        per_file.setdefault(path, set()).update(lines)
        functions.append((str(path.relative_to(PACKAGE.parent)), name, len(lines)))
    functions.sort()
    files = {str(p.relative_to(PACKAGE.parent)): len(lines) for p, lines in sorted(per_file.items())}
    return {"functions": functions, "files": files, "lines": sum(files.values())}


def linear_path() -> Callable[[], None]:
    x = tinyae.tensor(np.ones((2, 3), dtype=np.float32))
    w = tinyae.tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    b = tinyae.tensor(np.zeros(4, dtype=np.float32), requires_grad=True)
    g = np.ones((2, 4), dtype=np.float32)

    def run() -> None:
        w.grad = b.grad = None  # a first backward: the gradients start empty
        F.sigmoid(F.linear(x, w, b)).backward(g)

    return run


def sequential_path() -> Callable[[], None]:
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid())
    x = tinyae.tensor(np.ones((2, 3), dtype=np.float32))
    target = tinyae.tensor(np.zeros((2, 4), dtype=np.float32))

    params = list(model.parameters())

    def run() -> None:
        for p in params:  # a first backward: the gradients start empty
            p.grad = None
        F.mse_loss(model(x), target).backward()

    return run


def report(title: str, result: dict[str, Any]) -> None:
    print(
        f"\n{title}: {len(result['functions'])} functions, {len(result['files'])} files, "
        f"{result['lines']} lines of code"
    )
    for file, name, n in result["functions"]:
        print(f"  {n:4d}  {file}  {name}")
    for file, n in result["files"].items():
        print(f"  file {file}: {n}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the linear path is over budget")
    parser.add_argument("--max-lines", type=int, default=BUDGET_LINES, help="line budget for --check")
    args = parser.parse_args(argv)
    linear = budget(linear_path())
    sequential = budget(sequential_path())
    report("F.sigmoid(F.linear(x, W, b)) forward + backward", linear)
    report("loss.backward() through nn.Sequential(Linear, Sigmoid) with mse_loss", sequential)
    within = linear["lines"] <= args.max_lines and len(linear["files"]) <= BUDGET_FILES
    print(
        f"\nbudget for the linear path: at most {args.max_lines} lines in at most {BUDGET_FILES} files: "
        f"{'met' if within else 'NOT met'} ({linear['lines']} lines in {len(linear['files'])} files)"
    )
    return 0 if within or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
