"""Percentile bootstrap of the whole emulation: patients resampled, every step repeated."""

from __future__ import annotations

import warnings

import numpy as np

from sclero_analysis.exceptions import StrategyError


def _replicates(analysis, n: int, seeds: list[np.random.SeedSequence]) -> np.ndarray:
    """Estimate vectors of the replicates seeded by ``seeds`` (a failed replicate: NaN)."""
    out = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # a replicate's NaN is counted, not warned about
        for child in seeds:
            rows = np.sort(np.random.default_rng(child).integers(0, n, n))
            try:
                values = analysis.vector(analysis.run(rows, check=True))
                out.append(np.where(np.isinf(values), np.nan, values))  # overflowing weights: failed
            except (StrategyError, np.linalg.LinAlgError):
                out.append(None)
    width = analysis.width  # known even when every replicate of this chunk failed
    return np.array([v if v is not None else np.full(width, np.nan) for v in out]).reshape(len(seeds), width)


def bootstrap(analysis, n: int, n_boot: int, seed, n_jobs: int = 1, progress: bool = True) -> np.ndarray:
    """(n_boot, k) estimate vectors of bootstrap samples of the ``n`` patients.

    Replicate i uses the i-th child of ``SeedSequence(seed)`` whatever ``n_jobs``, so the
    intervals do not depend on the number of processes.
    """
    if n_boot <= 0:
        return np.empty((0, 0))
    from tqdm.auto import tqdm

    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63))
    children = np.random.SeedSequence(seed).spawn(n_boot)
    if n_jobs == 1:
        rows = [
            _replicates(analysis, n, [child])
            for child in tqdm(children, disable=not progress, desc="bootstrap", leave=False)
        ]
        return np.vstack(rows)
    from joblib import Parallel, delayed, effective_n_jobs

    chunks = np.array_split(np.arange(n_boot), min(n_boot, 4 * effective_n_jobs(n_jobs)))
    jobs = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_replicates)(analysis, n, [children[i] for i in chunk]) for chunk in chunks
    )
    rows = list(tqdm(jobs, total=len(chunks), disable=not progress, desc="bootstrap", leave=False))
    return np.vstack(rows)
