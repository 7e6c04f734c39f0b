"""The functions and rules registered with `adjit.defvjp`, `adjit.defjvp` and
`adjit.nondifferentiable`, by their stable names: generated code calls them
as `rt.custom.NAME(...)` (see adjit/custom.py). Filled at registration."""

# registered name -> the function it calls, for those Numba cannot compile
# (a NumPy or SciPy ufunc, a builtin): target="cpu" refuses them
python_only: dict = {}
