"""What target="cuda" adds to the pipeline.

Accepts: typed ANF (the checks of `device`) or a generated derivative
(`device_rows`, `device_tapes`, `kernels`). Guarantees: device code that
allocates nothing - tapes of fixed size in `cuda.local.array`, adjoints of
shared arrays incremented atomically - or a located error saying why not;
`kernels` splits a derivative with prange loops into kernels and a launcher.
"""
