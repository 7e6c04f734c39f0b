"""The generated derivative, cleaned and its reverse-sweep loops vectorised.

Accepts: a generated derivative `FunctionDef` (either mode). Guarantees:
every variable a path may read has a start value (`definite`); constant
adjoints folded and dead stores gone (`cleanup`); in reverse mode, loops
rewritten so that LLVM can vectorise them (accumulate, scatter, lanes,
block_pops, ascending, counting, handoff), each only where it is provably
equivalent.
"""
