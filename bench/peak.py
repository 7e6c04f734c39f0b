"""One call's time and peak memory growth, for the scripts that measure a
single large call outside the harness (`kernel_norm_large.py`,
`heat_long.py`).

The peak is the process's VmHWM after the call (reset just before it
through /proc/self/clear_refs) less its resident memory before the call.
"""

from __future__ import annotations

import time


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def measured(call):
    """(the call's result, its seconds, its peak memory growth in bytes)."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")                             # resets VmHWM
    before = _status("VmRSS")
    start = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - start
    return result, elapsed, _status("VmHWM") - before
