"""Evidence from the literature: the literature data contract, its reader and response tables.

Published sources (case reports, series, registries, trials) with provenance on every row, read
and validated as losslessly as a registry (:func:`read_literature`), turned into events/n tables
for pooling (:func:`response_table`) and into relapse frames of the published cases
(:func:`case_relapse_frame`).
"""

from sclero_analysis.evidence.literature import Literature
from sclero_analysis.evidence.read import is_literature, read_literature, validate_literature
from sclero_analysis.evidence.responses import case_relapse_frame, response_table
from sclero_analysis.evidence.template import write_literature_template

__all__ = ["Literature", "case_relapse_frame", "is_literature", "read_literature", "response_table",
           "validate_literature", "write_literature_template"]
