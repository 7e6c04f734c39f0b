"""Names of the variables adjit generates.

Conventions (docs/architecture.md): the adjoint of `x` is `_b_x`, its
tangent `_d_x`; temporaries are `_t1, _t2, ...`; flags and counters say
what they hold (`_break_1`, `_trips_2`). A `Namer` never hands out a name
the user's function already uses, nor the same name twice.
"""

from __future__ import annotations

import ast

# Module-level names the generated module binds; user locals must not shadow them.
RESERVED = ("math", "np", "rt")


class Namer:
    def __init__(self, tree: ast.AST):
        self.taken: set[str] = {node.id for node in ast.walk(tree)
                                if isinstance(node, ast.Name)}
        self.taken |= {node.arg for node in ast.walk(tree)
                       if isinstance(node, ast.arg)}
        self.taken |= set(RESERVED)
        self.counters: dict[str, int] = {}
        self.temporaries: set[str] = set()     # the `_t` names of `anf`
        self.derived: dict[tuple[str, str], str] = {}
        self.made: dict[str, str] = {}          # each name `fresh` made -> its stem

    def fresh(self, stem: str) -> str:
        """A new name `_{stem}{k}` (k counting per stem from 1)."""
        while True:
            count = self.counters.get(stem, 0) + 1
            self.counters[stem] = count
            name = f"_{stem}{count}"
            # `_t1` and a user's `t1` would share the adjoint name `_b_t1`
            if name not in self.taken and name[1:] not in self.taken:
                self.taken.add(name)
                self.made[name] = stem
                return name

    def unique(self, name: str) -> str:
        """`name` itself if free, else `name` with a number appended."""
        candidate, count = name, 1
        while candidate in self.taken:
            count += 1
            candidate = f"{name}{count}"
        self.taken.add(candidate)
        return candidate

    def temp(self) -> str:
        name = self.fresh("t")
        self.temporaries.add(name)
        return name

    def adjoint(self, variable: str) -> str:
        return self._derived("_b_", variable)

    def tangent(self, variable: str) -> str:
        return self._derived("_d_", variable)

    def _derived(self, prefix: str, variable: str) -> str:
        # `_t1` -> `_b_t1`, `x` -> `_b_x`; a clash (user names `x` and `_x`)
        # gets a trailing underscore rather than a wrong shared adjoint.
        key = (prefix, variable)
        if key not in self.derived:
            name = prefix + variable.lstrip("_")
            while name in self.taken:
                name += "_"
            self.taken.add(name)
            self.derived[key] = name
        return self.derived[key]
