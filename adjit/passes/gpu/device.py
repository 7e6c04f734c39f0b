"""device: checks for code that will run on a GPU (target="cuda").

Input: a typed ANF function (after `types`) and its types. Output: nothing,
or a located `DifferentiationError` for what device code cannot do today.
Which checks apply depends on the function's shape (`uses_grid`):

**Functions without a `prange`** become device functions of scalars
(`targets/cuda/lanes.py`); refused there:

* nothing about parameters used as arrays (`x[k]`, `x.shape`, `len(x)`):
  they take one row per GPU thread or an array shared by all threads
  (`targets/cuda/rows.py`), read-only (an element write to one is
  refused: a row is a view of the caller's array, and writes into a shared
  array would race); `check_scalar_parameters` refuses them where the
  parameters are scalars (`.device`);
* a NumPy function (`np.exp`, `np.sum`): device code uses `math` on
  scalars (and an `np.sum(x)` there would silently mean the sum of one
  element);
* a local array (`v = np.zeros(3)`): device code must not allocate.

**Functions with a `prange`** become kernels, one GPU thread per
iteration of each outer prange loop (`passes/gpu/kernels.py`); the statements
around those loops run on the host. Refused there:

* a `prange` that is not a statement of the function's body (inside an
  `if` or a loop): only an outermost loop maps onto the CUDA grid;
* an array element read or written outside the prange loops (a second
  loop over arrays, `x[0]` on the host): only the threads touch elements;
* a local array, in the prange body (one per thread) or outside it:
  device code must not allocate, and the host keeps only scalars;
* an element write to an argument array: arguments are copied to the
  device and not written back;
* a NumPy function, as above.

The tape, the other allocation a derivative can make, becomes a
per-thread `cuda.local.array` of a size fixed when generated
(`ReverseTransformer(tape_free=True)`, `device_tapes.py`), refused where
that size cannot be known, and shared adjoint elements are left as
increments for atomics (`race_free_reverse(..., shared_adjoints="atomic")`).
"""

from __future__ import annotations

import ast

from adjit.errors import DifferentiationError
from adjit.passes.analysis.parallel import at_origin, is_parallel
from adjit.rules.registry import is_array

_ANCHOR = "parallel"
# array attributes the host may read: they describe an array, not its elements
_HOST_ATTRIBUTES = ("shape", "size", "ndim")


def uses_grid(tree: ast.FunctionDef) -> bool:
    """Does target="cuda" run this function as kernels over its prange
    loops (rather than as a device function of scalars)?"""
    return any(is_parallel(node) for node in ast.walk(tree))


def _simple_statements(tree: ast.AST):
    """Every statement that is not compound (its expressions are its own)."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.stmt)
            and not isinstance(node, (ast.If, ast.For, ast.While, ast.FunctionDef))]


def _refuse(parsed, node, message: str, hint: str):
    raise DifferentiationError.at(parsed, at_origin(node) if isinstance(node, ast.stmt)
                                  else node, message, hint, _ANCHOR)


def check_device_code(parsed, tree: ast.FunctionDef, types: dict[str, str]) -> None:
    """Raise a located error at the first construct device code cannot have."""
    if uses_grid(tree):
        _check_kernel_code(parsed, tree, types)
    else:
        _check_scalar_code(parsed, tree, types)
    _check_outputs(parsed, tree, types)


def _check_outputs(parsed, tree: ast.FunctionDef, types: dict[str, str]) -> None:
    """Derivatives on the GPU return floats: an array output (which a vjp
    would seed with an array cotangent) is refused at the return."""
    returned = tree.body[-1]
    if not isinstance(returned, ast.Return) or returned.value is None:
        return
    values = returned.value.elts if isinstance(returned.value, ast.Tuple) \
        else [returned.value]
    for value in values:
        if isinstance(value, ast.Name) and is_array(types.get(value.id)):
            _refuse(parsed, returned, f"`{parsed.name}` returns the array `{value.id}`; "
                    "derivatives on the GPU (target='cuda') are of float outputs",
                    "return a float (a sum, or one element), or use target='cpu' for "
                    "array outputs (jit.vjp with an array cotangent)")


def _check_numpy_calls(parsed, tree: ast.AST) -> None:
    for statement in _simple_statements(tree):
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id == "np":
                _refuse(parsed, statement, f"`np.{node.func.attr}` in device code "
                        "(target='cuda'): NumPy functions are not supported there yet",
                        "use the `math` module's functions on scalars and explicit "
                        "loops over elements, or target='cpu'")


def _local_arrays(tree: ast.AST, types: dict[str, str]) -> list[ast.Assign]:
    return [statement for statement in _simple_statements(tree)
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)
            and is_array(types.get(statement.targets[0].id))]


# ---- device functions of scalars ------------------------------------------------------

def check_scalar_parameters(parsed, tree: ast.FunctionDef) -> None:
    """A function without a prange whose parameters are all scalars (the
    types of `.device`) runs once per GPU thread on scalars: a parameter
    used as an array (`x[k]`, `x.shape`) is refused at its line. (Called on
    arrays, such parameters take rows, `device_rows.py`: their adjoints and
    tangents are parameters, since device code cannot allocate:
    `np.zeros_like` does not compile there and `cuda.local.array` needs a
    constant shape.)"""
    parameters = {argument.arg for argument in tree.args.posonlyargs + tree.args.args}
    for statement in _simple_statements(tree):
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id == "len" and node.args:      # len(x): as x.shape[0]
                node = ast.Subscript(node.args[0], ast.Constant(0))
            if isinstance(node, (ast.Subscript, ast.Attribute)) and \
                    isinstance(node.value, ast.Name) and node.value.id in parameters:
                _refuse(parsed, statement, f"`{node.value.id}` is used as an array in a "
                        "function without a prange loop, where target='cuda' takes scalars "
                        "here (`.device`, whose parameters are scalars); rows of 2-D "
                        "arguments, one per GPU thread, are supported by calling the "
                        "derivative itself (jit.grad, jit.value_and_grad, jit.vjp, "
                        "jit.jvp) on arrays",
                        "call the derivative on 2-D arrays (one row per thread), write "
                        "the per-element function of scalars (one parameter per element "
                        "of a row) for a device function, or put the function's work on "
                        "arrays in an outer `for i in numba.prange(n):` loop (one GPU "
                        "thread per iteration)")


def array_parameters(tree: ast.FunctionDef) -> set[str]:
    """The parameters a function uses as arrays (`x[k]`, `x.shape`, `len(x)`):
    on target="cuda", without a prange, they take a row per thread."""
    parameters = {argument.arg for argument in tree.args.posonlyargs + tree.args.args}
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "len" and node.args and isinstance(node.args[0], ast.Name):
            used.add(node.args[0].id)
        if isinstance(node, (ast.Subscript, ast.Attribute)) and \
                isinstance(node.value, ast.Name):
            used.add(node.value.id)
    return used & parameters


def _check_scalar_code(parsed, tree: ast.FunctionDef, types: dict[str, str]) -> None:
    parameters = {argument.arg for argument in tree.args.posonlyargs + tree.args.args}
    if not any(is_array(types.get(name)) for name in parameters):
        check_scalar_parameters(parsed, tree)
    for statement, name in _argument_writes(tree, parameters):     # rows: read-only views
        _refuse(parsed, statement, f"an element write to the argument `{name}`, with "
                "target='cuda': a thread's row of an argument is read-only (a view of "
                "the caller's array), and a 1-D argument is shared by all threads, whose "
                "writes would race",
                "compute a scalar result from the arguments without writing them, or "
                "use target='cpu'")
    _check_numpy_calls(parsed, tree)
    for statement in _local_arrays(tree, types):
        _refuse(parsed, statement, f"`{statement.targets[0].id}` is an array made in the "
                "function; device code (target='cuda') cannot allocate arrays",
                "compute with scalars (one name per element), or use target='cpu'")


def _argument_writes(tree: ast.FunctionDef, parameters: set[str]):
    """(statement, parameter) for each element write into a parameter."""
    for statement in _simple_statements(tree):
        if isinstance(statement, (ast.Assign, ast.AugAssign)):
            target = statement.targets[0] if isinstance(statement, ast.Assign) \
                else statement.target
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                    and target.value.id in parameters:
                yield statement, target.value.id


# ---- kernels over outer prange loops -------------------------------------------------

def _check_kernel_code(parsed, tree: ast.FunctionDef, types: dict[str, str]) -> None:
    grid_loops = [node for node in tree.body if is_parallel(node)]
    for node in ast.walk(tree):
        if is_parallel(node) and not any(node is loop for loop in grid_loops):
            _refuse(parsed, node, "a `prange` loop inside another statement, with "
                    "target='cuda': only an outermost prange (a statement of the "
                    "function's body) maps onto the CUDA grid",
                    "move the prange loop out of the enclosing loop or `if`, or use "
                    "target='cpu'")
    arrays = {name for name, kind in types.items() if is_array(kind)}
    parameters = {argument.arg for argument in tree.args.posonlyargs + tree.args.args}
    for statement in tree.body:
        if is_parallel(statement):
            continue
        for simple in _simple_statements(ast.Module([statement], [])):
            for node in ast.walk(simple):
                if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                        and node.value.id in arrays:
                    _refuse(parsed, simple, f"an element of `{node.value.id}` outside the "
                            "prange loop, with target='cuda': the statements around the "
                            "prange loops run on the host, and only the GPU threads (one "
                            "per prange iteration) touch array elements",
                            "move this work into the prange loop (a second loop over "
                            "arrays is not supported on the GPU: merge it into the "
                            "prange loop), or use target='cpu'")
    for statement in _local_arrays(tree, types):
        inside = any(node is statement for loop in grid_loops for node in ast.walk(loop))
        where = "in the body of a prange loop (one per GPU thread)" if inside else \
            "outside the prange loops (on the host)"
        _refuse(parsed, statement, f"`{statement.targets[0].id}` is an array made "
                f"{where}; device code (target='cuda') cannot allocate arrays",
                "compute with scalars (one name per element) indexing the argument "
                "arrays directly, or use target='cpu'")
    for statement, name in _argument_writes(tree, parameters):
        _refuse(parsed, statement, f"an element write to the argument `{name}`, with "
                "target='cuda': arguments are copied to the GPU and not written back",
                "compute a scalar result from the arguments without writing them, or "
                "use target='cpu'")
    _check_numpy_calls(parsed, tree)
