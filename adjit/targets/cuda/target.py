"""`CudaTarget`: the `Target` of target="cuda" (see `adjit/targets/__init__.py`
for the interface, and this package's docstring for the three shapes a
function takes on the GPU).

It offers jit.grad, jit.value_and_grad, jit.vjp and jit.jvp (no output
selection, so no jacobian rows), checks that CUDA can run when a
derivative is made, learns the function's shape from its parsed definition
(kernels over prange loops, or per-thread rows of the parameters used as
arrays, or scalars), and hands each signature to the module of that shape.
"""

from __future__ import annotations

from adjit.errors import AdjitError
from adjit.passes.gpu.device import array_parameters, uses_grid
from adjit.passes.pipeline import front_end
from adjit.rules.registry import FLOAT, is_array
from adjit.targets import DerivativeSpec, Target
from adjit.targets.cuda import grid, lanes, rows

OPERATORS = ("grad", "value_and_grad", "vjp", "jvp")


class CudaTarget(Target):
    """Runs a derivative on the GPU: kernels over prange loops (`grid`),
    one thread per row of array parameters or per element of scalar ones,
    or a device function to call from the user's kernels."""

    name = "cuda"
    device_code = True

    def __init__(self, operator: str, output: int | None):
        if operator not in OPERATORS or output is not None:
            raise AdjitError(f"jit.{operator} has no target='cuda' yet; the GPU "
                             f"target offers jit.{', jit.'.join(OPERATORS)}")
        lanes.require_cuda()
        super().__init__(operator, output)
        # a function with prange loops runs as kernels over them (arrays
        # taken whole), one without as a device function of scalars (arrays
        # are lanes of per-thread arguments)
        self.grid = False
        self.array_parameters: set[str] = set()   # used as arrays: one thread per row

    def prepare(self, spec: DerivativeSpec, tree, inner) -> None:
        super().prepare(spec, tree, inner)
        if tree is not None:
            self.grid = uses_grid(tree)
            self.array_parameters = array_parameters(tree)
        elif inner is not None and uses_grid(front_end(spec.py_func).tree):
            raise _again_on_the_grid(spec.function_name)

    def check_differentiated_again(self, spec: DerivativeSpec) -> None:
        if self.grid:
            raise _again_on_the_grid(spec.function_name)

    # -- calls ------------------------------------------------------------------
    def signature(self, arguments: list) -> tuple:
        spec = self.spec
        if self.grid:                   # kernels over prange loops
            return grid.grid_signature(spec.parameters, arguments)
        if self.array_parameters:       # rows of 2-D arrays, shared 1-D arrays
            return rows.row_signature(spec.parameters, arguments, spec.py_func,
                                      self.array_parameters)
        # scalars, or 1-D arrays of per-thread values
        return lanes.lane_signature(spec.parameters, arguments, spec.py_func)

    def dispatch_key(self, args) -> tuple:
        return lanes.dispatch_key(args)

    def compile(self, module_name: str, function_name: str, signature: tuple):
        if self.grid:
            return grid.grid_function(module_name, function_name,
                                      self._grid_kinds(signature))
        kinds = self._device_kinds(signature)
        if any(is_array(kind) for kind in kinds):       # one thread per row
            return rows.RowLauncher(module_name, function_name, kinds,
                                    self._row_call(signature))
        return lanes.ElementwiseLauncher(module_name, function_name, kinds)

    def check_tangents(self, arguments: list, tangents: tuple) -> None:
        """Tangents are per thread here (an element, or a row of an (m, d)
        array, or one row shared): each launcher checks its own (`rows`,
        `lanes`)."""

    def cotangent(self, value):
        """Per element (1-D arrays, or a scalar broadcast), or a float for kernels."""
        return lanes.vjp_cotangent(value, self.spec.function_name, per_element=not self.grid)

    def text(self, module_source: str, module_name: str, function_name: str,
             signature: tuple) -> str:
        """The whole generated CUDA module (kernels and their launcher, or
        device function, wrapper and element-wise or per-row kernel)."""
        if self.grid:
            write = grid.grid_writer(self._grid_kinds(signature))
        else:
            kinds = self._device_kinds(signature)
            write = rows.rows_writer(kinds, self._row_call(signature)) \
                if any(is_array(kind) for kind in kinds) else lanes.device_writer(kinds)
        return lanes.cuda_source(module_name, function_name, write)[1]

    # -- device functions (Derivative.device, device_for) ---------------------------
    def device_signature(self, examples: tuple, bind) -> tuple:
        if self.grid:
            raise AdjitError(
                f"`.device` is for functions of scalars; {self.spec.function_name} has "
                "a prange loop, so its derivative on the GPU is kernels (one thread per "
                "iteration) launched by calling the derivative itself with the arrays "
                "(NumPy or CUDA device arrays). For a device function to call from your "
                "own kernel, differentiate the prange body written as a function of "
                "scalars")
        if len(examples) == 1 and isinstance(examples[0], str):
            return lanes.parse_signature(examples[0], self.spec.parameters)
        return lanes.lane_signature(self.spec.parameters, bind(examples))

    def device_function(self, module_name: str, function_name: str, signature: tuple):
        return lanes.device_function(module_name, function_name,
                                     self._device_kinds(signature))

    # -- the generated function's parameters ----------------------------------------
    def _device_kinds(self, signature: tuple) -> list[str]:
        """The signature's adjit types, then one per jvp tangent (a float, or
        a row's array type), or the vjp's float cotangent."""
        spec = self.spec
        kind_of = {name: kind for name, (kind, _) in zip(spec.parameters, signature)}
        tangents = [kind_of[name] for name in spec.wrt] if spec.forward else []
        return lanes.kinds_of(signature, tangents + [FLOAT] * int(spec.cotangent))

    def _grid_kinds(self, signature: tuple) -> list[str]:
        """The adjit types of the generated function's parameters: the
        signature's, then (jvp) one tangent per `wrt`, of its type, or (vjp)
        the float cotangent of the scalar output."""
        spec = self.spec
        kinds = [kind for kind, _ in signature] + [FLOAT] * int(spec.cotangent)
        if spec.forward:
            kind_of = dict(zip(spec.parameters, kinds))
            kinds += [kind_of[name] for name in spec.wrt]
        return kinds

    def _row_call(self, signature: tuple) -> rows.RowCall:
        """How a per-row derivative reaches its threads."""
        spec = self.spec
        code = getattr(spec.py_func, "__code__", None)
        return rows.RowCall(shared=rows.shared_parameters(spec.parameters, signature),
                            tangents_for=spec.wrt if spec.forward else (),
                            filename=code.co_filename if code is not None else None)


def _again_on_the_grid(function_name: str) -> AdjitError:
    """A derivative of a function with prange loops cannot be differentiated
    again with target="cuda" (its kernels are made from a derivative once),
    nor, made with target="cuda", on any target: its generated source
    leaves shared adjoint increments to CUDA atomics, so as plain parallel
    code it would race."""
    return AdjitError(
        f"{function_name} is a derivative of a function with a prange loop; "
        "differentiating it again on the GPU (target='cuda'), or differentiating "
        "its target='cuda' derivative, is not supported yet: differentiate the "
        "target='cpu' derivative with target='cpu'")
