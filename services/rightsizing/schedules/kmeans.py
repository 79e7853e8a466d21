"""k-means over 168-hour week profiles, with SciPy's ``kmeans2``.

SciPy rather than scikit-learn: ``sklearn.cluster`` costs ~170 MB resident in
every evaluation worker for ~0.1 s of clustering, ``scipy.cluster.vq`` ~40 MB.
``kmeans2`` seeds with k-means++ and runs a fixed number of Lloyd iterations;
like scikit-learn's ``n_init`` we keep the best (lowest inertia) of a few
seedings, so one unlucky seeding cannot merge the on/off workloads away.

>>> x = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
>>> centers, labels = kmeans(x, k=2, n_init=2, seed=0)
>>> bool(labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2])
True
"""

from __future__ import annotations

import warnings

import numpy as np

# Lloyd iterations per seeding (kmeans2 has no convergence test; 20 settles week profiles).
ITERATIONS = 20


def load_clustering() -> None:
    """Import SciPy's clustering now (a worker-pool initializer), not inside the first pass.

    Kept out of module import so the intake process never loads it; evaluation
    workers call this once when they start.
    """
    import scipy.cluster.vq  # noqa: F401


def kmeans(x: np.ndarray, k: int, n_init: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the rows of ``x`` into ``k`` groups; returns (centres ``k x d``, labels).

    Deterministic for a given ``seed``; the best of ``n_init`` seedings wins.
    """
    # Imported here, not at module top: only evaluation workers cluster (see load_clustering).
    from scipy.cluster.vq import kmeans2, vq

    x = np.asarray(x)  # float32 or float64; SciPy's vq handles both without a copy
    rng = np.random.default_rng(seed)
    best: tuple[np.ndarray, np.ndarray] | None = None
    best_inertia = np.inf
    for _ in range(n_init):
        with warnings.catch_warnings():
            # Identical profiles can leave a cluster empty: harmless for the on/off test.
            warnings.filterwarnings("ignore", "One of the clusters is empty")
            centers, labels = kmeans2(x, k, iter=ITERATIONS, minit="++", missing="warn", seed=rng)
        inertia = float(np.square(vq(x, centers, check_finite=False)[1]).sum())
        if inertia < best_inertia:
            best, best_inertia = (centers, labels), inertia
    assert best is not None
    return best
