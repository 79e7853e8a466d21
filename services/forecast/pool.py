"""The fit worker pool: spawned processes with one BLAS thread each, started eagerly.

Every worker already keeps a core busy with its own fits, so numpy's BLAS
(OpenBLAS starts one thread per core by default) only oversubscribes the
cores. Measured one process at a time on 2 cores: with the cores busy (load ~4) a
refresh took 1.2-1.5 s with the default threads and 0.53-0.58 s with one; with
them quieter (load ~2) about 10% longer with the default. A process reads these
variables when it loads numpy, so they are put in the environment only while
the workers are spawned; the parent process keeps its own threads.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor

# One BLAS/OpenMP thread per worker: the workers themselves are the parallelism.
WORKER_ENV: Mapping[str, str] = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def warm_up() -> None:
    """Import the fitting stack in a worker so the first refresh does not pay for it."""
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # "plotly missing" on import
    import prophet  # noqa: F401  (the heavy import: pandas, cmdstanpy, the Stan model)
    import statsforecast.models  # noqa: F401  (2-4 s: its compiled core and dependencies)


def make_pool(workers: int) -> ProcessPoolExecutor:
    """Fit workers; ``spawn`` so no child inherits the event loop or client sockets.

    A warm-up task per worker makes the pool spawn every worker now, inside
    the single-thread environment (it spawns one process per pending task).
    """
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    with _environment(WORKER_ENV):
        for _ in range(workers):
            pool.submit(warm_up)
    return pool
