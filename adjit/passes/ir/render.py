"""render: a generated `FunctionDef` -> readable source text.

Input: a generated function whose statements carry `origin` (a line of the
user's file) and which may hold comment nodes made by `comment(text)`.
Output: source text from `ast.unparse`, with a `# from line N: <statement>`
comment wherever the originating user line changes within a block, and the
comment nodes turned into real comments; `constant_arrays` writes the
global arrays a function reads as module-level definitions.
"""

from __future__ import annotations

import ast
import math
import re

_MARKER = "ADJIT_COMMENT_"


def comment(text: str) -> ast.Expr:
    """A statement that renders as `# text`."""
    node = ast.Expr(ast.Constant(text))
    node.is_comment = True
    return node


def annotate_origins(statements: list[ast.stmt], source_lines: dict[int, str],
                     previous: int | None = None) -> list[ast.stmt]:
    """Insert `# from line N: ...` before the first statement from each line."""
    out = []
    for node in statements:
        if getattr(node, "is_comment", False):
            previous = None      # a section comment: say the line again after it
        origin = getattr(node, "origin", None)
        if origin is not None and origin != previous and origin in source_lines \
                and not getattr(node, "is_comment", False):
            text = source_lines[origin].strip()
            out.append(comment(f"from line {origin}: {text}"))
            previous = origin
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and not isinstance(node, ast.FunctionDef):
                setattr(node, field, annotate_origins(block, source_lines, origin))
        out.append(node)
    return out


def render(function: ast.FunctionDef, source_lines: dict[int, str]) -> str:
    function.body = annotate_origins(function.body, source_lines)
    texts: list[str] = []

    class Markers(ast.NodeTransformer):
        def visit_Expr(self, node):
            if getattr(node, "is_comment", False):
                texts.append(node.value.value)
                return ast.Expr(ast.Name(f"{_MARKER}{len(texts) - 1}", ast.Load()))
            return node

    marked = Markers().visit(function)
    text = ast.unparse(ast.fix_missing_locations(marked))
    return re.sub(rf"^(\s*){_MARKER}(\d+)$",
                  lambda m: f"{m.group(1)}# {texts[int(m.group(2))]}", text,
                  flags=re.MULTILINE) + "\n"


def constant_arrays(arrays: dict) -> str:
    """`NAME = np.array([...], dtype=np.float64)` for each array, its
    elements written exactly (`repr` of a float reads back the same
    float)."""
    lines = []
    for name, array in sorted(arrays.items()):
        elements = _elements(array.tolist())
        shape = "" if array.size else f".reshape({array.shape!r})"
        lines.append(f"{name} = np.array({elements}, dtype=np.{array.dtype.name}){shape}")
    if not lines:
        return ""
    return ("# the global arrays the function reads, as they were when this "
            "derivative was made\n" + "\n".join(lines) + "\n\n\n")


def _elements(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_elements(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "np.nan" if math.isnan(value) else ("np.inf" if value > 0 else "-np.inf")
    return repr(value)
