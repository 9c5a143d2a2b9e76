"""gmpcheck's engines, views and command line."""

import os

# The checker does no linear algebra: numpy's BLAS threads would only spin
# beside the search's own threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
