"""Small constructors for the AST nodes the transformations emit."""

from __future__ import annotations

import ast


def name(identifier: str, store: bool = False) -> ast.Name:
    return ast.Name(identifier, ast.Store() if store else ast.Load())


def function_def(identifier: str, arguments: ast.arguments,
                 body: list[ast.stmt]) -> ast.FunctionDef:
    """`def identifier(arguments): body`, valid on every supported Python."""
    function = ast.FunctionDef(name=identifier, args=arguments, body=body,
                               decorator_list=[], returns=None)
    if "type_params" in ast.FunctionDef._fields:     # Python 3.12+
        function.type_params = []
    return ast.fix_missing_locations(function)


def statement(text: str) -> ast.stmt:
    """The one statement `text` spells (generated code written as text)."""
    return ast.parse(text).body[0]


def load(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


def store(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Store())


def located(node: ast.AST, like: ast.AST) -> ast.AST:
    """`node`, each of its statements and expressions without a position
    given `like`'s (errors point at the user's line)."""
    for inner in ast.walk(node):
        if isinstance(inner, (ast.stmt, ast.expr)) and not hasattr(inner, "lineno"):
            ast.copy_location(inner, like)
    return node


def in_place_of(new: ast.stmt, like: ast.stmt) -> ast.stmt:
    """`new`, a statement made for `like`, at its position and user line
    (`origin`, the `# from line N` of the generated code)."""
    ast.copy_location(new, like)
    new.origin = getattr(like, "origin", None)
    return new


def without(statements: list[ast.stmt], removed: set[int]) -> list[ast.stmt]:
    """`statements` without those whose `id` is in `removed`, in nested
    blocks too (a block left empty holds `pass`)."""
    kept = []
    for node in statements:
        if id(node) in removed:
            continue
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block:
                setattr(node, field, without(block, removed) or [ast.Pass()])
        kept.append(node)
    return kept


class Renamer(ast.NodeTransformer):
    """Renames the names of `renamed`'s keys, loads and stores alike."""

    def __init__(self, renamed: dict[str, str]):
        self.renamed = renamed

    def visit_Name(self, node: ast.Name):
        if node.id in self.renamed:
            return ast.copy_location(ast.Name(self.renamed[node.id], node.ctx), node)
        return node
