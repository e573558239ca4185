"""Labels of intervals follow the confidence level the results were fitted with."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import sclero_analysis as sa  # noqa: E402


@pytest.fixture(scope="module")
def lines():
    return sa.relapse_frame(sa.load_example())


def test_regression_table_and_forest_plot_name_the_fitted_level(lines):
    fit = sa.fit_cox(lines, "tier", cluster="patient_id", conf_level=0.9)
    table = sa.regression_table(fit)
    assert "HR (90% CI)" in table.summary.columns and "90% confidence interval" in table.notes[0]
    ax = sa.figures.forest_plot(fit)
    assert "HR (90% CI)" in {t.get_text() for t in ax.texts}
    plt.close(ax.figure)
    default = sa.regression_table(sa.fit_cox(lines, "tier", cluster="patient_id"))
    assert "HR (95% CI)" in default.summary.columns


def test_models_with_different_levels_cannot_share_a_table(lines):
    models = {"a": sa.fit_cox(lines, "tier", cluster="patient_id", conf_level=0.9),
              "b": sa.fit_cox(lines, "tier", cluster="patient_id")}
    with pytest.raises(ValueError, match="different confidence levels"):
        sa.regression_table(models)
