"""Test configuration.

Generated derivative sources and Numba's on-disk cache go to a temporary
directory for the session, unless ``ADJIT_CACHE_DIR`` is already set (CI sets
it to a directory of its own).  This runs when pytest imports the conftest,
before any test module imports adjit.  The pytest-xdist workers inherit the
variable, so they share the directory; the process that made it removes it
when it exits.
"""

import atexit
import os
import shutil
import tempfile

if "ADJIT_CACHE_DIR" not in os.environ:
    _made = tempfile.mkdtemp(prefix="adjit-test-cache-")
    os.environ["ADJIT_CACHE_DIR"] = _made
    atexit.register(shutil.rmtree, _made, ignore_errors=True)
