"""The table of primitives adjit knows, and their derivative rules.

A *primitive* is anything that can appear as the operation of one ANF
statement: an `ast` operator class (`ast.Mult`), a builtin (`abs`), or a
library function (`math.sin`, `np.exp`). Each is registered once, keyed by
the object itself, with:

* `spelling` - how generated code calls it (`"math.sin"`), so that the
  generated module only needs `import math`, `import numpy as np` and the
  runtime helpers;
* `partials` - a *template*: a tiny Python function whose parameters are the
  primitive's arguments (plus `ans`, the result, when it helps) and which
  returns the partial derivative with respect to each argument. The same
  template drives forward mode (tangent = sum of partial * input tangent)
  and reverse mode (adjoint of input += output adjoint * partial), so the
  two tables cannot disagree;
* `result_type` - the scalar type of the result given the argument types.

Primitives whose derivative is zero wherever it exists (`floor`, `int`,
comparisons...) are registered with `partials=None`: their results are never
active. Anything else is unknown, and `resolve` refuses it with a located
error.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Callable

# Scalar types, ordered: a join takes the widest. Array types read
# "float[:, :]" (element type, then one colon per dimension): arguments that
# are only read, and the tapes of generated code differentiated again.
BOOL, INT, FLOAT = "bool", "int", "float"
_TYPE_ORDER = {BOOL: 0, INT: 1, FLOAT: 2}


def array_type(element: str, ndim: int) -> str:
    return f"{element}[{', '.join([':'] * ndim)}]"


def is_array(type_name: str | None) -> bool:
    return type_name is not None and "[" in type_name


def element_type(type_name: str) -> str:
    return type_name.split("[")[0]


def is_float_like(type_name: str | None) -> bool:
    """A float, or an array of floats: what derivatives flow through."""
    return type_name == FLOAT or (is_array(type_name) and element_type(type_name) == FLOAT)


FLOAT_ARRAY, INT_ARRAY = array_type(FLOAT, 1), array_type(INT, 1)


def join_types(*types: str) -> str:
    """The type Numba unifies scalars of these types to (arrays join only
    with themselves)."""
    known = [t for t in types if t is not None]
    if any(is_array(t) for t in known):
        return known[0] if len(set(known)) == 1 else None
    return max(known, key=_TYPE_ORDER.__getitem__) if known else None


def float_result(*arg_types):
    return FLOAT


def int_result(*arg_types):
    return INT


def joined_result(*arg_types):
    return join_types(INT, *arg_types) if BOOL in arg_types else join_types(*arg_types)


@dataclass
class Primitive:
    key: object
    spelling: str
    arity: tuple[int, ...]
    partials: Callable | None
    result_type: Callable = float_result
    parameters: tuple[str, ...] = ()
    partial_expressions: tuple[ast.expr, ...] = field(default=(), repr=False)
    uses_result: bool = False

    @property
    def differentiable(self) -> bool:
        return self.partials is not None

    def __deepcopy__(self, memo):
        # a registered primitive is shared, never changed: the AST nodes that
        # carry it are copied without it (copying its key, a Numba ufunc,
        # costs a tenth of a second)
        return self


class Registry:
    """Primitives keyed by the object that names them in user code."""

    def __init__(self):
        self._by_key: dict[object, Primitive] = {}
        self.version = 0
        # rule modules registered on demand: (module, trigger modules, owner modules)
        self._deferred: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []

    def defer(self, module: str, triggers: tuple[str, ...], owners: tuple[str, ...] = ()):
        """Imports the rule module `module` (whose import registers its
        rules) only once it may be needed: when one of the modules
        `triggers` has been imported (the user's code can name their
        functions only then), or a lookup asks for a key defined in one of
        `owners`. SciPy's rules cost half a second to import, which a user
        who never calls SciPy should not pay."""
        self._deferred.append((module, triggers, owners))

    def load_deferred(self, key=None, everything: bool = False) -> bool:
        """Imports the deferred rule modules now needed (all of them with
        `everything`); says whether any was imported."""
        owner = getattr(key, "__module__", None) if key is not None else None
        loaded = False
        for entry in list(self._deferred):
            module, triggers, owners = entry
            if everything or owner in owners or any(name in sys.modules for name in triggers):
                self._deferred.remove(entry)
                importlib.import_module(module)
                loaded = True
        return loaded

    def register(self, key, spelling: str, partials: Callable | None,
                 arity: tuple[int, ...] = (1,), result_type: Callable = float_result):
        parameters, expressions, uses_result = (), (), False
        if partials is not None:
            parameters, expressions = _read_template(partials)
            uses_result = "ans" in parameters
            parameters = tuple(p for p in parameters if p != "ans")
            if len(expressions) != len(parameters):
                raise ValueError(f"rule for {spelling}: {len(parameters)} "
                                 f"arguments but {len(expressions)} partials")
        self._by_key[_hashable(key)] = Primitive(
            key, spelling, arity, partials, result_type, parameters,
            expressions, uses_result)
        self.version += 1

    def lookup(self, key) -> Primitive | None:
        try:
            found = self._by_key.get(_hashable(key))
        except TypeError:
            return None
        if found is None and self._deferred and self.load_deferred(key):
            return self.lookup(key)
        return found

    def __contains__(self, key) -> bool:
        return self.lookup(key) is not None

    def primitives(self):
        self.load_deferred(everything=True)
        return list(self._by_key.values())


def _hashable(key):
    hash(key)
    return key


def _read_template(template: Callable) -> tuple[tuple[str, ...], tuple[ast.expr, ...]]:
    """Parameters and returned partial expressions of a rule template."""
    source = textwrap.dedent(inspect.getsource(template))
    definition = ast.parse(source).body[0]
    parameters = tuple(argument.arg for argument in definition.args.args)
    returned = definition.body[-1]
    if not isinstance(returned, ast.Return):
        raise ValueError(f"rule {template.__name__} must end with `return`")
    value = returned.value
    expressions = tuple(value.elts) if isinstance(value, ast.Tuple) else (value,)
    return parameters, expressions


REGISTRY = Registry()


def derivative(*keys, spelling: str | None = None, arity=None,
               result_type: Callable = float_result):
    """Register a partials template for the primitives `keys` (decorator).

    `spelling` defaults to the template's module-qualified name; several keys
    (e.g. `math.sin` and `np.sin`) may share one template only when
    `spelling` is given per call, so this decorator takes exactly one key
    unless told otherwise.
    """
    def register(template):
        parameter_count = len([name for name in inspect.signature(template).parameters
                               if name != "ans"])
        for key in keys:
            REGISTRY.register(key, spelling or _default_spelling(key), template,
                              arity or (parameter_count,), result_type)
        return template
    return register


def nondifferentiable(key, spelling: str | None = None, arity=(1,),
                      result_type: Callable = float_result):
    """Register a primitive whose derivative is zero wherever it exists."""
    REGISTRY.register(key, spelling or _default_spelling(key), None, arity,
                      result_type)


def _default_spelling(key) -> str:
    module = getattr(key, "__module__", None) or ""
    name = getattr(key, "__name__", repr(key))
    if module == "math":
        return f"math.{name}"
    if module.startswith("numpy") or type(key).__name__ == "ufunc":
        return f"np.{name}"
    if module == "builtins":
        return name
    raise ValueError(f"give a spelling for {key!r}")


class DefinitionError(Exception):
    """A call of a library function adjit computes from a Python definition
    (SciPy's distributions, `logsumexp`) with arguments adjit does not
    support; the message says which."""
