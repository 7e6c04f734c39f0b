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
