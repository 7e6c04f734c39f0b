"""stale: whether a function's file still holds the code the function runs.

adjit differentiates a function's *source*, read from its file; Python runs
the function's *code object*, compiled when the module was imported. After
the file is edited in a running interpreter (a notebook importing a module
that has since changed, without reloading it) the two differ, and a
derivative of the file would belong to other code than the function it
claims to differentiate.

Input: a Python function. Output: `file_changed_since_defined(fn)`, True
when the file as it is now compiles, as a whole module, to code whose
function of that qualified name differs from `fn`'s own code (other
instructions, names or constants; line numbers, comments and blank lines
do not count). Compiling the whole file, not the function's lines alone,
gives the code the import gave (methods, closures and `from __future__`
flags included); the compiled module is kept per file version.

The check is skipped, answering False, where the file cannot tell: a
function not defined in a file on disk (a REPL, `exec`), and a module its
importer compiled from other text than the file's (pytest's assertion
rewriting).
"""

from __future__ import annotations

import linecache
import os
import sys
import types
from importlib.machinery import SourceFileLoader

_COMPILED: dict[tuple[str, int, int], types.CodeType | None] = {}


def file_changed_since_defined(fn) -> bool:
    code = getattr(fn, "__code__", None)
    filename = getattr(code, "co_filename", None)
    if not filename or not os.path.isfile(filename) or not _compiled_from_file(fn):
        return False
    module = _compiled_module(filename)
    if module is None:
        return True                                  # the file no longer compiles
    candidates = list(_functions_named(module, code.co_qualname))
    return not any(_same_code(candidate, code) for candidate in candidates)


def _compiled_from_file(fn) -> bool:
    """Whether the function's module was compiled from its file's text as it
    was (a plain source loader, or no module at all: `__main__` of a script)."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    loader = getattr(module, "__loader__", None)
    return loader is None or isinstance(loader, SourceFileLoader) \
        or type(loader).__name__ == "SourceFileLoader"


def _compiled_module(filename: str) -> types.CodeType | None:
    status = os.stat(filename)
    key = (filename, status.st_mtime_ns, status.st_size)
    if key not in _COMPILED:
        linecache.checkcache(filename)
        text = "".join(linecache.getlines(filename))
        try:
            _COMPILED[key] = compile(text, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            _COMPILED[key] = None
    return _COMPILED[key]


def _functions_named(code: types.CodeType, qualname: str):
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            if constant.co_qualname == qualname:
                yield constant
            yield from _functions_named(constant, qualname)


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
    if a.co_code != b.co_code or a.co_names != b.co_names \
            or a.co_varnames != b.co_varnames or len(a.co_consts) != len(b.co_consts):
        return False
    for p, q in zip(a.co_consts, b.co_consts):
        if isinstance(p, types.CodeType) and isinstance(q, types.CodeType):
            if not _same_code(p, q):
                return False
        elif type(p) is not type(q) or p != q:
            if not (p != p and q != q):              # nan equals nan here
                return False
    return True
