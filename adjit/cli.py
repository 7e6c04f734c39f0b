"""The command line: ``python -m adjit demo``, ``python -m adjit show`` and
``python -m adjit cache`` (where derivatives are cached; ``--clear``).

``show`` prints the derivative source that adjit generates for a function in
a file, for the signature given by ``--sig`` (default: every parameter a
float64)::

    python -m adjit show model.py:energy --wrt x,v --sig 'float64, float64, int64'

With ``--target cuda`` it prints the generated CUDA module instead: the
kernels (one per outer prange loop) and their host launcher, or for a
function of scalars the device function and its element-wise kernel. That
needs numba-cuda, and a GPU or the simulator (``NUMBA_ENABLE_CUDASIM=1``;
nothing is compiled or run)::

    NUMBA_ENABLE_CUDASIM=1 python -m adjit show model.py:H --wrt 0,1 \
        --sig 'float64[:, :], float64[:, :], float64' --target cuda

Errors about the user's code (every ``adjit.AdjitError``) are printed as
compiler-style diagnostics on stderr, without a traceback, with exit code 2;
so are mistakes on the command line itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

MODES = ("rev", "fwd")
TARGETS = ("cpu", "python", "cuda")
ARRAY_EXAMPLE_LENGTH = 3    # length of each axis of an example array from --sig

# Type names accepted by --sig, by the NumPy dtype they stand for.
_DTYPE_NAMES = {
    "float64": ("float64", "f8", "float", "double"),
    "float32": ("float32", "f4", "single"),
    "int64": ("int64", "i8", "int", "intp"),
    "int32": ("int32", "i4"),
    "bool": ("bool", "boolean", "b1", "bool_"),
}
DTYPE_OF_NAME = {alias: dtype for dtype, aliases in _DTYPE_NAMES.items() for alias in aliases}


class CommandLineError(Exception):
    """A mistake on the command line (not in the user's code)."""


# --------------------------------------------------------------------------
# argument parsing helpers (pure functions, easy to test)
# --------------------------------------------------------------------------

def parse_wrt(text: str | None) -> int | str | tuple[int | str, ...]:
    """``"0"`` -> 0, ``"a"`` -> "a", ``"a,1"`` -> ("a", 1); None -> 0."""
    if text is None:
        return 0
    items: list[int | str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise CommandLineError(f"--wrt {text!r}: empty item; write e.g. --wrt a,b or --wrt 0,1")
        if item.lstrip("-").isdigit():
            items.append(int(item))
        elif item.isidentifier():
            items.append(item)
        else:
            raise CommandLineError(
                f"--wrt {text!r}: {item!r} is neither a parameter name nor a position")
    return items[0] if len(items) == 1 else tuple(items)


def split_signature(text: str) -> list[str]:
    """Split ``'float64, float64[:, :]'`` on the commas outside brackets."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise CommandLineError(f"--sig {text!r}: unbalanced ']'")
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise CommandLineError(f"--sig {text!r}: unbalanced '['")
    parts.append("".join(current).strip())
    if any(not part for part in parts):
        raise CommandLineError(f"--sig {text!r}: empty type; write e.g. --sig 'float64, int64'")
    return parts


def example_argument(type_name: str) -> Any:
    """An example value of the type ``type_name``: ``float64`` -> 1.0,
    ``float32`` -> np.float32(1.0), ``int64``/``int`` -> 1, ``bool`` -> True,
    ``float64[:]`` -> np.ones(3), ``float64[:, :]`` -> np.ones((3, 3))."""
    import numpy as np

    name = type_name.strip()
    dtype_name, bracket, dims = name.partition("[")
    dtype_name = dtype_name.strip()
    if dtype_name not in DTYPE_OF_NAME:
        known = "float64, float32, int64, int32, bool, and arrays such as float64[:]"
        raise CommandLineError(f"--sig: unknown type {type_name!r} (known: {known})")
    dtype = np.dtype(DTYPE_OF_NAME[dtype_name])
    if bracket:
        rank = dims.count(":")
        if (not dims.endswith("]") or rank == 0
                or dims[:-1].replace(":", "").replace(",", "").strip()):
            raise CommandLineError(
                f"--sig: array type {type_name!r} must look like 'float64[:]' or 'float64[:, :]'")
        return np.ones((ARRAY_EXAMPLE_LENGTH,) * rank, dtype=dtype)
    if dtype == np.float64:
        return 1.0                      # a Python float is a float64
    if dtype == np.int64:
        return 1                        # a Python int is an int64
    if dtype == np.bool_:
        return True
    return dtype.type(1)


def parameter_names(function: Callable) -> list[str] | None:
    """The parameter names of ``function`` (or of the Python function a
    differentiable wrapper holds), or None when they cannot be read."""
    for candidate in (function, getattr(function, "py_func", None),
                      getattr(function, "__wrapped__", None),
                      getattr(function, "func", None)):
        if candidate is None:
            continue
        try:
            return list(inspect.signature(candidate).parameters)
        except (TypeError, ValueError):
            continue
    return None


def example_arguments(function: Callable, sig: str | None) -> tuple[list[Any], str]:
    """Example arguments for ``function`` and a description of where they came from."""
    names = parameter_names(function)
    if sig is None:
        if names is None:
            raise CommandLineError(
                "cannot read the parameters of the function; pass its types with --sig")
        return [1.0] * len(names), "float64 for every parameter (change with --sig)"
    types = split_signature(sig)
    if names is not None and len(types) != len(names):
        raise CommandLineError(
            f"--sig gives {len(types)} type(s) but the function has {len(names)} "
            f"parameter(s): ({', '.join(names)})")
    return [example_argument(t) for t in types], f"--sig {sig!r}"


def _module_name_for(path: Path) -> str:
    """The file's own stem as module name (as `python FILE.py` users import it),
    unless that name belongs to another module, e.g. a file named `math.py`."""
    stem = path.stem
    if stem.isidentifier() and stem not in sys.modules:
        try:
            found = importlib.util.find_spec(stem)
        except (ImportError, ValueError):
            found = None
        if found is None or (found.origin and Path(found.origin).resolve() == path):
            return stem
    return "adjit_cli_target_" + "".join(c if c.isalnum() else "_" for c in stem)


def load_function(spec: str) -> Callable:
    """Import ``FILE.py`` by path and return its attribute ``FUNC``."""
    file_part, sep, func_name = spec.rpartition(":")
    if not sep or not file_part or not func_name:
        raise CommandLineError(f"{spec!r}: expected FILE.py:FUNC, e.g. model.py:energy")
    path = Path(file_part).expanduser().resolve()
    if not path.is_file():
        raise CommandLineError(f"{file_part}: no such file")
    module_name = _module_name_for(path)
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise CommandLineError(f"{file_part}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.parent))      # so the file can import its neighbours
    module_spec.loader.exec_module(module)
    function = getattr(module, func_name, None)
    if function is None:
        raise CommandLineError(f"{file_part} defines no {func_name!r}")
    if not callable(function):
        raise CommandLineError(f"{file_part}: {func_name!r} is not a function")
    return function


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------

def run_show(options: argparse.Namespace) -> int:
    import adjit

    if options.mode not in MODES:
        raise CommandLineError(f"--mode {options.mode!r}: unknown mode (choose: rev, fwd)")
    wrt = parse_wrt(options.wrt)
    function = load_function(options.target_function)
    arguments, origin = example_arguments(function, options.sig)
    try:
        operator = adjit.jit.grad if options.mode == "rev" else adjit.jit.jvp
        derivative = operator(function, wrt=wrt, target=options.target)
        text = adjit.source(derivative, *arguments)
    except adjit.DifferentiationError:
        if options.sig is None:
            print(f"note: example arguments: {origin}", file=sys.stderr)
        raise
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def run_cache(options: argparse.Namespace) -> int:
    from adjit.runtime import compile as compiler
    directory = compiler.cache_dir()
    files = compiler.cached_files()
    modules = sum(1 for path in files if path.suffix == ".py")
    size = sum(path.stat().st_size for path in files)
    print(f"adjit cache: {directory}")
    print(f"  generated modules: {modules}, files: {len(files)}, {size / 1e6:.1f} MB")
    if options.clear:
        for path in files:
            path.unlink(missing_ok=True)
        print(f"  cleared: {len(files)} files removed")
    return 0


def run_demo(options: argparse.Namespace) -> int:
    from adjit import demo

    return demo.main(timing_n=options.n, repeats=options.repeats)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m adjit",
        description="adjit: derivatives of plain numeric Python by source "
                    "transformation, compiled with Numba.")
    parser.add_argument("--version", action="store_true", help="print adjit's version")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="differentiate three small programs; check and time them",
        description="Differentiates a chain rule, a loop with a carried value and a "
                    "while-loop Newton iteration; prints the generated source, checks "
                    "against finite differences and times gradient vs Numba primal.")
    demo.add_argument("--n", type=int, default=10**6,
                      help="trip count of the loop when timing it (default 1000000)")
    demo.add_argument("--repeats", type=int, default=5,
                      help="timed runs per function; the median is shown (default 5)")
    demo.set_defaults(run=run_demo)

    show = commands.add_parser(
        "show", help="print the generated derivative source of FILE.py:FUNC",
        description="Prints the derivative source adjit generates for FUNC in FILE.py, "
                    "for the argument types given by --sig.")
    show.add_argument("target_function", metavar="FILE.py:FUNC")
    show.add_argument("--wrt", default=None,
                      help="parameters to differentiate with respect to: names or positions, "
                           "comma-separated (default 0, the first)")
    show.add_argument("--target", choices=TARGETS, default="cpu",
                      help="cpu (Numba, default), python (uncompiled generated code) or "
                           "cuda (the generated CUDA kernels and their launcher)")
    show.add_argument("--sig", default=None,
                      help="argument types, e.g. 'float64, int64' "
                           "(default: float64 for every parameter)")
    show.add_argument("--mode", default="rev",
                      help="rev (reverse mode, jit.grad) or fwd (forward mode, jit.jvp)")
    show.set_defaults(run=run_show)

    cache = commands.add_parser(
        "cache", help="show where derivatives are cached, and how much; --clear empties it",
        description="Prints the cache directory (ADJIT_CACHE_DIR, else ~/.cache/adjit), "
                    "how many derivatives it holds and their size; with --clear, removes "
                    "them (adjit's own files only).")
    cache.add_argument("--clear", action="store_true", help="remove the cached derivatives")
    cache.set_defaults(run=run_cache)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.version:
        from adjit import __version__

        print(f"adjit {__version__}")
        return 0
    if options.command is None:
        parser.print_help(sys.stderr)
        return 2
    from adjit.errors import AdjitError

    try:
        return options.run(options)
    except CommandLineError as error:
        print(f"{parser.prog} {options.command}: error: {error}", file=sys.stderr)
        return 2
    except AdjitError as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
