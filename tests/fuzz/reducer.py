"""Reduce a failing program to a small one that fails the same way.

Greedy, on the AST of `f`: delete a statement, replace a compound statement
by its body, drop an `else`/`elif`, replace an expression by one of its
operands or by a constant; keep a change when `fuzz_harness.check` still
answers `mismatch` (or `crash`) with the same kind of message, and repeat
until nothing changes. Used by report.py (`--reduce`); test_fuzz.py relies
on hypothesis's shrinking instead. `reduce_case` does the same for a
program of the other families (case_harness.Case), then drops the helper
functions the reduced `f` no longer calls.
"""

from __future__ import annotations

import ast
import copy
import re

import fuzz_harness as harness


def _kind(outcome) -> set:
    """What failed: the checks named in the messages ('[python] d/dx', ...)."""
    kinds = set()
    for message in outcome.messages:
        match = re.match(r"(\[\w+\] (?:d/d[xy]|jvp value|jvp tangent|value_and_grad|tangent)"
                         r"|\[\w+\] adjit raised \w+)", message)
        if match:
            kinds.add(match.group(1))
    return kinds


def _function(tree, name: str = "f") -> ast.FunctionDef:
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    return next((node for node in functions if node.name == name), functions[0])


def _blocks(node):
    """Every statement list under node (bodies, orelse)."""
    for child in ast.walk(node):
        for field in ("body", "orelse"):
            block = getattr(child, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield block


def _statement_edits(tree):
    """Candidate trees with one statement-level simplification."""
    fn = _function(tree)
    paths = []
    for b_index, block in enumerate(_blocks(fn)):
        for s_index in range(len(block)):
            paths.append((b_index, s_index))
    for b_index, s_index in reversed(paths):
        for action in ("delete", "unwrap", "drop_else"):
            candidate = copy.deepcopy(tree)
            block = list(_blocks(_function(candidate)))[b_index]
            stmt = block[s_index]
            if action == "delete":
                if len(block) == 1 and block is _function(candidate).body:
                    continue
                if isinstance(stmt, ast.Return) and stmt is _function(candidate).body[-1]:
                    continue
                if len(block) == 1:
                    block[s_index] = ast.Pass()
                else:
                    del block[s_index]
            elif action == "unwrap":
                if not isinstance(stmt, (ast.If, ast.For, ast.While)):
                    continue
                block[s_index:s_index + 1] = stmt.body
            else:
                if not isinstance(stmt, ast.If) or not stmt.orelse:
                    continue
                stmt.orelse = []
            yield candidate


class _Replace(ast.NodeTransformer):
    def __init__(self, target: int, replacement):
        self.counter = -1
        self.target = target
        self.replacement = replacement

    def visit(self, node):
        if isinstance(node, ast.expr) and not isinstance(node.ctx if hasattr(node, "ctx") else None,
                                                          (ast.Store, ast.Del)):
            self.counter += 1
            if self.counter == self.target:
                new = self.replacement(node)
                if new is not None:
                    return new
        return super().visit(node)


def _operands(node):
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.IfExp):
        return [node.body, node.orelse]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _expression_edits(tree):
    fn = _function(tree)
    count = sum(1 for node in ast.walk(fn) if isinstance(node, ast.expr)
                and not isinstance(getattr(node, "ctx", None), ast.Store))
    for target in reversed(range(count)):
        for choice in range(4):
            def replacement(node, choice=choice):
                if isinstance(node, (ast.Constant, ast.Name, ast.Attribute, ast.Compare,
                                     ast.BoolOp)):
                    return None
                ops = _operands(node)
                if choice < len(ops):
                    return copy.deepcopy(ops[choice])
                if choice == 3:
                    return ast.Constant(0.5)
                return None
            candidate = copy.deepcopy(tree)
            replacer = _Replace(target, replacement)
            replacer.visit(_function(candidate))
            yield candidate


def reduce_program(source: str, args, direction, targets=("python",), budget: int = 400,
                   log=None) -> tuple[str, object]:
    """The smallest program found that still fails like `source` at `args`;
    returns (source, outcome)."""
    first = harness.check(source, args, direction, targets)
    if first.status not in ("mismatch", "crash"):
        return source, first
    wanted = _kind(first)

    def same_failure(text):
        outcome = harness.check(text, args, direction, targets)
        return outcome if outcome.status == first.status and wanted & _kind(outcome) else None
    best_tree, found = _shrink(ast.parse(source), budget, same_failure, log)
    return ast.unparse(best_tree) + "\n", found or first


def _shrink(tree: ast.Module, budget: int, accept, log=None):
    """Greedy reduction: one-edit changes of `tree` that make its source
    shorter, kept while `accept(text)` returns a result (not None), until
    none is kept or `budget` edits were tried. Returns the smallest tree
    and the last result kept (None if none was)."""
    best_tree, best = tree, None
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for edits in (_statement_edits, _expression_edits):
            for candidate in edits(best_tree):
                tries += 1
                if tries > budget:
                    break
                try:
                    ast.fix_missing_locations(candidate)
                    text = ast.unparse(candidate) + "\n"
                except Exception:
                    continue
                if len(text) >= len(ast.unparse(best_tree)) + 1:
                    continue
                result = accept(text)
                if result is not None:
                    best_tree, best = candidate, result
                    changed = True
                    if log:
                        log(f"  reduced to {len(text)} characters")
                    break
            if changed:
                break
    return best_tree, best


def _case_kind(outcome) -> set:
    """What failed, for a case_harness outcome: the first words of each
    message naming a target ('[python] reverse gradient', ...)."""
    kinds = set()
    for message in outcome.messages:
        if message.startswith("["):
            words = re.split(r"[ :(]", message)
            kinds.add(" ".join(words[:3]))
    return kinds


def _drop_unused_functions(source: str) -> str:
    """Remove module-level functions (and rules registered for them) that
    nothing in the module refers to any more."""
    tree = ast.parse(source)
    changed = True
    while changed:
        changed = False
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | \
               {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        for node in list(tree.body):
            if isinstance(node, ast.FunctionDef) and node.name != "f":
                refs = sum(1 for other in ast.walk(tree) if other is not node and
                           isinstance(other, ast.Name) and other.id == node.name)
                decorated_by = any(isinstance(d, ast.Attribute) and isinstance(d.value, ast.Name)
                                   and d.value.id in used for d in node.decorator_list)
                if refs == 0 and not decorated_by and node.name not in used - {node.name}:
                    tree.body.remove(node)
                    changed = True
    return ast.unparse(tree) + "\n"


def reduce_case(case, targets=("python",), budget: int = 300, log=None):
    """The smallest variant of `case` (case_harness.Case) found that still
    fails the same way; returns (case, outcome)."""
    import dataclasses

    import case_harness

    def check(source):
        candidate = dataclasses.replace(case, source=source)
        return candidate, case_harness.check_case(candidate, targets, timeout=120)

    _, first = check(case.source)
    if first.status not in case_harness.FAILED:
        return case, first
    wanted = _case_kind(first)

    def same_failure(text):
        new_case, outcome = check(text)
        if outcome.status == first.status and (wanted & _case_kind(outcome) or
                                               outcome.status != "mismatch"):
            return new_case, outcome
        return None
    best_tree, found = _shrink(ast.parse(case.source), budget, same_failure, log)
    best_case, best = found or (case, first)
    try:
        text = _drop_unused_functions(ast.unparse(best_tree) + "\n")
        trimmed, outcome = check(text)
        if outcome.status == best.status:
            best_case, best = trimmed, outcome
    except SyntaxError:
        pass
    return best_case, best
