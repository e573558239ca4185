"""The notebooks and the one-command report (issue 8).

One report is built per test session with ``fast=True`` (every notebook executed top to bottom
on the shipped synthetic registry); the tests then check what it wrote.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sclero_analysis as sa
from sclero_analysis.report import build_report, data_hash

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["01_case_series_overview", "02_time_to_relapse_by_tier", "03_confounding_by_indication",
            "04_publication_bias", "05_registry_study_planning", "06_small_samples",
            "07_pooling_the_literature", "08_which_management_strategy"]


@pytest.fixture(scope="session")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    return build_report(out=out, notebooks_dir=ROOT / "notebooks", fast=True, progress=None)


def test_the_numbered_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_stored_without_outputs_and_have_parameters(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        f"{path.name} holds outputs: strip them before committing"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    for name in ("data_path", "seed", "tau", "out_dir", "fast", "dayfirst", "sheets"):
        assert re.search(rf"^{name} = ", source, re.M), f"{path.name}: parameter {name} missing"
    assert cells[0]["cell_type"] == "markdown" and "**Question.**" in "".join(cells[0]["source"])
    assert "Answer" in "".join(cells[-2]["source"]) or "In plain words" in "".join(cells[-1]["source"])
    longest = max(len("".join(c["source"]).splitlines()) for c in code)
    assert longest <= 16, f"{path.name}: a code cell of {longest} lines belongs in the library"


def test_every_notebook_ran_and_wrote_its_outputs(report):
    assert report.notebooks == EXPECTED
    assert not report.failed, report.summary.to_string()
    assert report.data.counts["rejected"].sum() == 0 and report.data.heavy == []
    for name in EXPECTED:
        assert (report.folder / f"{name}.ipynb").exists() and (report.folder / f"{name}.html").exists()
        manifest = json.loads((report.folder / "manifest" / f"{name}.json").read_text())
        assert manifest["finding"], f"{name} recorded no finding"
        assert manifest["figures"] and manifest["tables"], name
        for stem in manifest["figures"]:
            for ext in ("pdf", "png"):
                assert (report.folder / "figures" / f"{stem}.{ext}").stat().st_size > 1000
        for stem in manifest["tables"]:
            assert not pd.read_csv(report.folder / "tables" / f"{stem}.csv").empty, stem
            assert (report.folder / "tables" / f"{stem}.md").exists()


def test_key_tables_are_sane(report):
    tables = report.folder / "tables"
    flow = pd.read_csv(tables / "01_cohort_flow.csv").set_index("step")
    cs = sa.load_example()
    assert flow.loc["patients accepted", "n"] == len(cs.patients)
    assert flow.loc["analysable lines", "n"] == len(sa.relapse_frame(cs))
    km = pd.read_csv(tables / "02_medians_rmst.csv").set_index("group")
    assert set(km.index) == set(sa.TIERS)
    assert ((km["rmst"] > 0) & (km["rmst"] <= 36)).all()  # an RMST cannot exceed tau
    compared = pd.read_csv(tables / "03_compare_tiers.csv")
    assert set(compared["method"]) == {"naive", "adjusted", "iptw"}
    assert ((compared["hr_lower"] < compared["hr"]) & (compared["hr"] < compared["hr_upper"])).all()
    truth = cs.truth["marginal_log_hr"]["cytoreduction"]
    shown = compared.loc[compared["tier"] == "cytoreduction", "true_marginal_hr"]
    assert np.allclose(shown, np.exp(truth), rtol=1e-4)  # the table's 4 decimals
    power = pd.read_csv(tables / "05_power_by_size.csv")
    assert power["power"].between(0, 1).all() and power["coverage"].between(0, 1).all()
    firth = pd.read_csv(tables / "06_firth_vs_cox_many_series.csv").set_index("method")
    assert set(firth.index) == {"cox", "firth"}
    pooled = pd.read_csv(tables / "07_literature_vs_registry.csv").set_index("tier")
    assert set(pooled.index) == set(sa.TIERS) and (pooled["k_sources"] >= 1).all()
    assert pooled[["literature", "registry", "truth"]].stack().between(0, 1).all()


def _links(html: str) -> list[str]:
    class Collect(HTMLParser):
        found: list[str] = []

        def handle_starttag(self, tag, attrs):
            for key, value in attrs:
                if key in ("href", "src") and value and not value.startswith("#"):
                    self.found.append(value)

    parser = Collect()
    parser.found = []
    parser.feed(html)
    return parser.found


def test_index_links_resolve_and_carry_provenance(report):
    page = report.index.read_text()
    links = _links(page)
    assert len(links) > 30
    missing = [link for link in links if not (report.folder / link).exists()]
    assert not missing, f"index.html links to missing files: {missing[:5]}"
    for name in EXPECTED:
        finding = json.loads((report.folder / "manifest" / f"{name}.json").read_text())["finding"]
        assert finding.split(";")[0][:40] in page.replace("&#x27;", "'")
    # the literature the notebooks pooled (the shipped one, with the shipped registry): its check
    literature = page[page.index('<h2 id="literature">'):page.index('<section id=')]
    assert "shipped synthetic literature" in literature
    sources = report.literature.counts.loc["sources"]
    assert "<tr><td>sources</td>" + "".join(f"<td>{v}</td>" for v in sources) + "</tr>" in literature
    assert sources["accepted"] > 0
    for run in report.runs:  # each section shows the notebook's status
        section = page[page.index(f'<section id="{run.name}">'):]
        assert f'<div class="status {"complete" if run.status == "complete" else "skipped"}">' \
            in section[:section.index("</section>")]
    assert '<h2 id="data">Data</h2>' in page and "rejected" in page
    record = json.loads((report.folder / "provenance.json").read_text())
    assert record["data_sha256"] == data_hash(None) and record["seed"] == 20261125
    assert record["literature_sha256"] == data_hash(ROOT / "data" / "synthetic" / "literature")
    for value in (record["package_version"], record["data_sha256"], record["date_utc"]):
        assert value in page


def test_reader_pages_hide_code_and_no_page_names_the_report_folder(report):
    for name in EXPECTED:
        reader = (report.folder / f"{name}.html").read_text()
        code = (report.folder / f"{name}.code.html").read_text()
        assert '<div class="jp-InputArea' not in reader, f"{name}.html shows code"
        assert '<div class="jp-InputArea' in code and "injected-parameters" not in reader
        for page in (reader, code):
            assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page, name
    pages = list(report.folder.glob("*.html"))
    assert len(pages) == 2 * len(EXPECTED) + 1
    for page in pages:
        text = page.read_text()
        assert str(report.folder) not in text and ".building-" not in text, page.name


def test_index_shows_table_one_and_the_hazard_ratios_inline(report):
    page = report.index.read_text()
    tables = report.folder / "tables"
    table1 = pd.read_csv(tables / "01_table1_by_tier.csv", dtype=str).set_index("characteristic")
    shown = page[page.index('<div class="inline-table" id="table-01_table1_by_tier">'):]
    shown = shown[:shown.index("</div>")]
    assert f">{table1.loc['n', 'Overall']}</td>" in shown and "Unit: patients" in shown
    hrs = pd.read_csv(tables / "02_cox_models.csv", dtype=str).set_index("characteristic")
    shown = page[page.index('<div class="inline-table" id="table-02_cox_models">'):]
    shown = shown[:shown.index("</div>")]
    for cell in hrs.filter(like="HR").stack():  # every HR (95% CI) of both models
        assert f">{cell}</td>" in shown
    assert page.index('id="table-01_table1_by_tier"') < page.index('<section id="02_time_to_relapse')
    km = re.search(r'<a href="figures/02_km_by_tier.png"[^>]*><img src="figures/02_km_by_tier.png"[^>]*'
                   r'style="width:(\d+)px"', page)
    assert km and int(km[1]) > 800  # a double-column figure at the page's width, not a thumbnail


def test_data_hash_depends_on_content_not_location(tmp_path):
    source = ROOT / "data" / "synthetic" / "registry"
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    assert data_hash(copy) == data_hash(source)
    (copy / "lines.csv").write_text((copy / "lines.csv").read_text() + "\n")
    assert data_hash(copy) != data_hash(source)


def test_missing_data_path_or_notebook_is_refused_before_running(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        build_report(data=tmp_path / "nowhere", out=tmp_path / "out", progress=None)
    with pytest.raises(FileNotFoundError, match="no notebook 07_typo.ipynb"):
        build_report(out=tmp_path / "out", notebooks=["07_typo"], notebooks_dir=ROOT / "notebooks",
                     progress=None)
    assert not (tmp_path / "out").exists()  # nothing written


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHECK = """<script>
window.addEventListener("load", () => {
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src"));
  const p = document.createElement("pre"); p.id = "image-check";
  p.textContent = JSON.stringify({total: imgs.length, broken: broken});
  document.body.appendChild(p);
});
</script></body>"""


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium or chromium-browser on PATH, so the report page "
                    "is not rendered in a browser (the rest of the report is tested); to run it, install "
                    "Debian's chromium (apt-get install chromium), as .ci/run does")
def test_index_renders_in_headless_chromium_without_broken_images(report, tmp_path):
    probe = report.folder / "index_check.html"
    probe.write_text(report.index.read_text().replace("</body>", CHECK))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files",
             "--virtual-time-budget=10000"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", probe.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    found = re.search(r'<pre id="image-check">(.*?)</pre>', dom, re.S)
    assert found, "the page did not finish loading in Chromium"
    result = json.loads(found.group(1).replace("&quot;", '"'))
    assert result["total"] >= 10 and result["broken"] == []
    shot = tmp_path / "index.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1280,2000",
                    report.index.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000
