"""Evidence from the literature: pooled response proportions across published sources.

Case reports (one patient), case series and registries are sources; their proportions are
pooled per treatment with a binomial-normal GLMM or inverse-variance random-effects models.
"""

from sclero_analysis.evidence.inputs import PoolingError
from sclero_analysis.evidence.pooling import pool_proportions
from sclero_analysis.evidence.result import PooledProportions

__all__ = ["PooledProportions", "PoolingError", "pool_proportions"]
