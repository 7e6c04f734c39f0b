"""Reverse mode: an ANF function -> its adjoint function.

Accepts: the typed ANF tree, its active variables and array facts.
Guarantees: `NAME_grad(params...)` with a forward sweep that records only
what the reverse sweep needs and cannot recompute (`plan`, `recompute`,
`tbr`, `snapshot`), tapes whose capacity is checked (`reserve`), and a
reverse sweep of adjoint statements in reverse order (`transform`, `arrays`).
"""
