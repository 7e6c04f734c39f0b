"""`python -m adjit ...`: the command line; see adjit/cli.py."""

import sys

from adjit.cli import main

if __name__ == "__main__":
    sys.exit(main())
