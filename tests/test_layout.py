"""The package's layout: imports run one way, and the passes sit in stages.

Every `import` of an adjit module inside adjit (function-level imports
included) is an edge of the module graph. The graph has no cycle, and an
edge goes only from a layer to the same or a lower one:

    API (adjit/*.py) -> targets -> passes -> rules, runtime -> errors

and inside `passes/`, from a stage to the same or an earlier one, in
pipeline order (`ir` first, `pipeline.py` last).
"""

from __future__ import annotations

import ast
from pathlib import Path

import adjit

PACKAGE = Path(adjit.__file__).resolve().parent

# lower rank = lower layer; a module may import its own rank or lower ones
PASS_STAGES = ("ir", "front", "analysis", "gpu", "reverse", "forward", "optimize")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def import_graph() -> dict[str, set[str]]:
    """adjit module -> the adjit modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        edges = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.split(".")[0] == "adjit":
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    edges.add(candidate if _is_module(candidate) else node.module)
            elif isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names
                             if alias.name.split(".")[0] == "adjit")
        edges.discard(module)
    return graph


def layer(module: str) -> tuple[int, int]:
    """(layer, stage inside passes) of a module; higher may import lower."""
    parts = module.split(".")
    if module in ("adjit.errors",):
        return 0, 0
    if len(parts) > 1 and parts[1] in ("rules", "runtime"):
        return 1, 0
    if len(parts) > 1 and parts[1] == "passes":
        if len(parts) == 2:
            return 2, len(PASS_STAGES) + 1         # the package docstring only
        if parts[2] == "pipeline":
            return 2, len(PASS_STAGES)
        return 2, PASS_STAGES.index(parts[2])
    if len(parts) > 1 and parts[1] == "targets":
        return 3, 0
    return 4, 0                                     # the API: adjit/*.py


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph.get(module, ()):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_imports_have_no_cycle():
    assert cycles(import_graph()) == []


def test_imports_go_from_higher_layers_and_later_stages_to_lower_ones():
    upward = [f"{module} -> {other}" for module, edges in import_graph().items()
              for other in sorted(edges) if layer(other) > layer(module)]
    assert upward == []


def test_passes_are_grouped_by_stage():
    passes = PACKAGE / "passes"
    loose = sorted(path.name for path in passes.glob("*.py")
                   if path.name not in ("__init__.py", "pipeline.py"))
    assert loose == []
    assert sorted(path.name for path in passes.iterdir()
                  if path.is_dir() and path.name != "__pycache__") == sorted(PASS_STAGES)
    for stage in PASS_STAGES:
        docstring = ast.get_docstring(ast.parse((passes / stage / "__init__.py").read_text()))
        assert docstring and len(docstring.splitlines()) >= 3, stage


def test_no_text_numbers_the_work_that_produced_it():
    """Code, tests, docs and bench speak of the project as it is: no work
    periods, no issue numbers of this project, no stale promises."""
    import re
    import subprocess
    root = PACKAGE.parent
    listed = subprocess.run(["git", "ls-files", "adjit", "tests", "docs", "bench", "README.md"],
                            cwd=root, capture_output=True, text=True)
    if listed.returncode != 0:
        import pytest
        pytest.skip("not a git checkout")
    pattern = re.compile(r"\b[Ss]ession ?\d|\bwork period|\blater release|"
                         r"\b[Ii]ssue ?#?\d|(?<![\w/])#\d{1,3}\b(?!\w)")
    found = []
    for name in listed.stdout.split():
        path = root / name
        if path.suffix not in (".py", ".md", ".txt", ".json") or path == Path(__file__):
            continue
        if re.search(r"session\d", name):
            found.append(name)
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{name}:{number}: {line.strip()[:100]}")
    assert found == []


def test_importing_adjit_leaves_the_optional_libraries_unimported():
    """SciPy's statistics and special functions cost half a second to import,
    and were imported by every `import adjit` for rules that only code
    calling SciPy needs; PyTorch, JAX and Dask belong to their bridges."""
    import subprocess
    import sys
    probe = ("import sys, adjit; print(sorted(m for m in ('scipy.stats', 'scipy.special', "
             "'scipy.optimize', 'torch', 'jax', 'dask') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                               timeout=120, cwd=PACKAGE.parent)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
