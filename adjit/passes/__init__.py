"""The transformation passes, grouped by pipeline stage.

    front/     Python source -> the ANF core, calls inlined (signature-independent)
    analysis/  typed facts about the ANF core: types, activity, arrays, loops
    gpu/       checks and rewrites for target="cuda" (device code, kernels)
    reverse/   the reverse-mode derivative: what to record, recompute, keep
    forward/   the forward-mode (tangent) derivative
    optimize/  the generated derivative cleaned and its reverse-sweep loops vectorised
    ir/        what every stage shares: AST builders, names, folding, rendering

`pipeline.py` runs them in order; imports go from later stages to earlier
ones (and to `ir/`), never back.
"""
