import sys

from bench.latency import main

sys.exit(main())
