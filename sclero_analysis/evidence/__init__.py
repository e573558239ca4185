"""Evidence from the literature: its data contract and reader, response tables, pooled proportions.

Published sources (case reports, series, registries, trials) with provenance on every row, read
and validated as losslessly as a registry (:func:`read_literature`), turned into events/n tables
(:func:`response_table`) and relapse frames of the published cases (:func:`case_relapse_frame`),
and pooled per treatment with a binomial-normal GLMM or inverse-variance random-effects models
(:func:`pool_proportions`). A case report is a source with one patient.
"""

from sclero_analysis.evidence.inputs import PoolingError
from sclero_analysis.evidence.literature import Literature
from sclero_analysis.evidence.pooling import pool_proportions
from sclero_analysis.evidence.read import is_literature, read_literature, validate_literature
from sclero_analysis.evidence.responses import case_relapse_frame, response_table
from sclero_analysis.evidence.result import PooledProportions
from sclero_analysis.evidence.template import write_literature_template

__all__ = ["Literature", "PooledProportions", "PoolingError", "case_relapse_frame", "is_literature",
           "pool_proportions", "read_literature", "response_table", "validate_literature",
           "write_literature_template"]
