"""The functions and rules registered with `adjit.defvjp`, `adjit.defjvp` and
`adjit.nondifferentiable`, by their stable names: generated code calls them
as `rt.custom.NAME(...)` (see adjit/custom.py). Filled at registration."""
