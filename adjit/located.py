"""Errors a derivative raises while it runs, located in the user's code.

A derivative runs generated code, so an error inside it (NumPy or Numba
refusing two shapes that do not broadcast, Numba refusing a matrix product
of two dtypes) would point at a line of a generated file, or into Numba.
The dispatchers (`dispatch`) pass such errors here:

* `shape_mismatch`: a `ValueError` about shapes, or an `IndexError` (an
  index outside an array or a view), is raised again with the line of the
  user's function where the same arguments fail (the function is run in
  Python on copies of them, which NumPy reports at that line);
* `mixed_dtype_product`: Numba's typing error for `@` or `np.dot` of a
  float32 and a float64 array becomes a `DifferentiationError` at the
  user's line (the `# from line N:` comment above the generated line).

Anything else is raised as it is.
"""

from __future__ import annotations

import inspect
import re
import traceback
from pathlib import Path

import numpy as np

from adjit.errors import DifferentiationError, Location

_SHAPE_WORDS = ("broadcast", "shape", "mismatch", "incompatible", "aligned")
# where a user's frame cannot be: NumPy, Numba, adjit itself
_LIBRARIES = tuple(str(Path(module.__file__).resolve().parent)
                   for module in (np, __import__("numba"),
                                  __import__("adjit")))


def shape_mismatch(error: Exception, py_func, args) -> Exception | None:
    """`error` with the user's line where `py_func(*args)` fails the same
    way, or None when it is no shape error or the function runs."""
    if not isinstance(error, IndexError) and (not isinstance(error, ValueError) or not any(
            word in str(error) for word in _SHAPE_WORDS)):
        return None
    try:
        py_func(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
    except (ValueError, IndexError) as primal_error:
        if not isinstance(primal_error, type(error)):
            return None
        frames = [frame for frame in traceback.extract_tb(primal_error.__traceback__)
                  if not str(Path(frame.filename).resolve()).startswith(_LIBRARIES)]
        if not frames:
            return None
        frame = frames[-1]
        return type(error)(f"{frame.filename}:{frame.lineno}: {primal_error}\n"
                           f"    {(frame.line or '').strip()}\n"
                           f"  (in the derivative of `{py_func.__name__}`: the "
                           "function itself fails there for these arguments)")
    except Exception:                # it fails otherwise: say nothing wrong
        return None
    return None


def mixed_dtype_product(error: Exception, module_name: str, source: str,
                        py_func) -> DifferentiationError | None:
    """Numba's refusal of `@`/`np.dot` over a float32 and a float64 array,
    as a located error; None for any other typing error."""
    text = str(error)
    if "must all have the same dtype" not in text:
        return None
    dtypes = sorted(set(re.findall(r"array\((float\d+|int\d+)", text)))
    lines = [int(n) for n in re.findall(rf"{re.escape(module_name)}\.py\", line (\d+)", text)]
    location, written = None, None
    if lines:
        generated = source.splitlines()
        for line in range(min(lines[-1], len(generated)) - 1, -1, -1):
            origin = re.match(r"\s*# from line (\d+): (.*)", generated[line])
            if origin:
                filename = inspect.getsourcefile(py_func) or "<unknown file>"
                written = origin.group(2)
                location = Location(filename, int(origin.group(1)), 0)
                break
    return DifferentiationError(
        f"a matrix product of arrays of {' and '.join(dtypes) or 'different dtypes'}: "
        "Numba's `@` and `np.dot` need operands of one dtype (NumPy converts, "
        "compiled code does not)", location, hint="convert one operand before the "
        "product (`A.astype(np.float64)`), or pass arrays of one dtype",
        source_line=written, doc_anchor="arrays")
