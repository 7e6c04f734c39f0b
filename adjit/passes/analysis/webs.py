"""webs: one name per type a variable holds.

Input: the ANF `FunctionDef` of user code (after `inline`) and the types of
its parameters.
Output: the same function where a variable whose separate lives hold values
of different types (`x = np.sum(x)` of an array parameter `x`; a name that
is a float in one loop and an int index in a later one; `s = 0.0` then
`s = s + np.sin(x)`) has one name per type, the first keeping its own:
`x2 = np.sum(x)`, and every later read of that value reads `x2`.

A *web* is a set of assignments of one name joined by the reads they reach
(a read reached by two assignments joins them: `s = 0.0` before a loop
and `s = s + e` in it are one web). Renaming webs apart never changes what
the program computes. Webs of one name with the same type keep the name,
so only a name that changes type is renamed - except arrays: each web of an
array name is a name of its own (`a = np.zeros(n)` ... `a2 = np.ones(n)`,
`x2 = x * 2` of a parameter), since a new binding is a new array object
with an adjoint of its own; a web that still has several bindings (a loop
carries it, a branch merges it) is left to `slots`.

Why: `types` gives each name one type, as Numba does, and every later
pass follows values by name: the tape a name is recorded on, its adjoint,
whether it is an array. A float and an int under one name would be joined
to a float (the int recorded on the float tape and read back as a float
index), and an array and a float have no join at all. Inside one web a
type that does not settle is still an error, located by `types`.
"""

from __future__ import annotations

import ast

from adjit.passes.front.parse import ParsedFunction
from adjit.passes.analysis.types import infer_types
from adjit.rules.registry import is_array


def split_by_type(parsed: ParsedFunction, parameter_types: dict[str, str]) -> None:
    """Rename the webs of each name that holds values of different types
    (see the module docstring); `parsed.tree` is changed in place."""
    if parsed.generated:
        return
    webs = _Webs(parsed.tree).webs()
    several = {name: found for name, found in webs.items() if len(found) > 1}
    if not several:
        return
    # each web under a name of its own, to learn its type
    originals: dict[str, str] = {}
    for name, found in several.items():
        for web in found[1:]:
            originals[parsed.namer.unique(name)] = name
            _rename(web, list(originals)[-1])
    types = infer_types(parsed, parameter_types, originals)
    # then one name per type: the first web's own, a new one for each other
    for name, found in several.items():
        kept: dict[str | None, str] = {}
        for k, web in enumerate(found):
            # (a parameter never read has a web of no nodes: its own)
            kind = types.get(web[0].id) if web else parameter_types.get(name)
            # an array keeps one name per web: a new binding is a new object
            key = (kind, k) if is_array(kind) else kind
            kept.setdefault(key, name if k == 0 else web[0].id)
            _rename(web, kept[key])


def _rename(web: list[ast.Name], name: str) -> None:
    for node in web:
        node.id = name


class _Webs:
    """Reaching assignments over the structured ANF body, joined into webs."""

    def __init__(self, tree: ast.FunctionDef):
        self.tree = tree
        self.parent: dict[object, object] = {}
        self.nodes: dict[object, list[ast.Name]] = {}   # a definition -> its Name nodes

    def find(self, key):
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, keys) -> object:
        keys = list(keys)
        root = self.find(keys[0])
        for key in keys[1:]:
            other = self.find(key)
            if other != root:
                self.parent[other] = root
        return root

    def webs(self) -> dict[str, list[list[ast.Name]]]:
        """For each name, its webs in the order of their first node in the
        source: each the list of Name nodes (reads and writes) it renames;
        the parameter's own web first."""
        state: dict[str, frozenset] = {}
        for argument in self.tree.args.posonlyargs + self.tree.args.args:
            key = ("parameter", argument.arg)
            self.find(key)
            self.nodes[key] = []
            state[argument.arg] = frozenset([key])
        self.uses: list[tuple[ast.Name, frozenset]] = []
        self.block(self.tree.body, state)
        for node, reaching in self.uses:
            root = self.union(reaching)
            self.nodes.setdefault(root, [])
        position = {id(node): k for k, node in enumerate(_preorder(self.tree))}
        grouped: dict[object, list[ast.Name]] = {}
        order: dict[object, int] = {}
        named: dict[object, str] = {}
        for key, nodes in self.nodes.items():
            root = self.find(key)
            grouped.setdefault(root, []).extend(nodes)
            named[root] = key[1] if isinstance(key, tuple) else nodes[0].id
        for node, reaching in self.uses:
            grouped[self.find(next(iter(reaching)))].append(node)
        result: dict[str, list[list[ast.Name]]] = {}
        for root, nodes in grouped.items():
            unique = list({id(n): n for n in nodes}.values())
            order[root] = -1 if isinstance(root, tuple) and root[0] == "parameter" else \
                min((position[id(n)] for n in unique), default=0)
            grouped[root] = sorted(unique, key=lambda n: position[id(n)])
            result.setdefault(named[root], []).append(root)
        return {name: [grouped[root] for root in sorted(roots, key=lambda r: order[r])]
                for name, roots in result.items()}

    # -- reaching definitions ---------------------------------------------
    def read(self, node: ast.AST, state: dict[str, frozenset]) -> None:
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load):
                reaching = state.get(inner.id)
                if reaching is None:           # unassigned on every path here
                    reaching = frozenset([("unassigned", inner.id)])
                    self.nodes.setdefault(("unassigned", inner.id), [])
                self.uses.append((inner, reaching))

    def define(self, target: ast.Name, state: dict[str, frozenset]) -> dict[str, frozenset]:
        self.nodes.setdefault(id(target), [target])
        return {**state, target.id: frozenset([id(target)])}

    def block(self, statements: list[ast.stmt], state: dict[str, frozenset]):
        for node in statements:
            state = self.statement(node, state)
        return state

    def statement(self, node: ast.stmt, state: dict[str, frozenset]):
        if isinstance(node, ast.Assign):
            target = node.targets[0]
            self.read(node.value, state)
            if isinstance(target, ast.Name) and getattr(node, "in_place", False):
                # `x -= e` (desugared `x = x - e`): on an array, a write into
                # the same object (`lower`), so the same web as what it updates
                reaching = state.get(target.id, frozenset())
                updated = self.define(target, state)
                self.union([id(target), *reaching])
                return updated
            if isinstance(target, ast.Name):
                return self.define(target, state)
            self.read(target, state)           # a[i] = v reads a and i
            return state
        if isinstance(node, ast.If):
            self.read(node.test, state)
            return _join(self.block(node.body, state), self.block(node.orelse, state))
        if isinstance(node, ast.For):
            self.read(node.iter, state)
            entry, end = state, state
            while True:
                start = _join(entry, end)
                new_end = self.block(node.body, self.define(node.target, start))
                if new_end == end:
                    return _join(entry, end)
                end = new_end
        if isinstance(node, ast.While):
            entry, end = state, state
            while True:
                start = _join(entry, end)
                self.read(node.test, start)
                new_end = self.block(node.body, start)
                if new_end == end:
                    return start
                end = new_end
        self.read(node, state)                 # return, expressions
        return state


def _join(one: dict[str, frozenset], other: dict[str, frozenset]) -> dict[str, frozenset]:
    joined = dict(one)
    for name, reaching in other.items():
        joined[name] = joined.get(name, frozenset()) | reaching
    return joined


def _preorder(node: ast.AST):
    """Every node under `node`, in the order of the source."""
    yield node
    for child in ast.iter_child_nodes(node):
        yield from _preorder(child)
