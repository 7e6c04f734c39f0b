"""Forward mode: an ANF function -> its tangent function.

Accepts: the typed ANF tree, its active variables and array facts.
Guarantees: `NAME_jvp(params..., tangents...)` in which each active
assignment is followed by its tangent statement, returning the value and
the tangent of each output.
"""
