"""gmpcheck's engines, views and command line."""

import os

__version__ = "0.1.0"

# The checker does no linear algebra: numpy's BLAS threads would only spin
# beside the search's own threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
