"""Test configuration.

Generated derivative sources and Numba's on-disk cache go to a temporary
directory for the session, unless ``ADJIT_CACHE_DIR`` is already set (CI sets
it to a directory of its own).  This runs when pytest imports the conftest,
before any test module imports adjit.
"""

import os
import tempfile

if "ADJIT_CACHE_DIR" not in os.environ:
    os.environ.setdefault("ADJIT_CACHE_DIR", tempfile.mkdtemp(prefix="adjit-test-cache-"))
