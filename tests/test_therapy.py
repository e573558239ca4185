"""Therapy vocabulary and the tier rules of docs/data_contract.md §2, one test per rule."""

from __future__ import annotations

import tomllib
from importlib import resources

import pandas as pd
import pytest

from sclero_analysis.exceptions import AgentSpellingWarning, UnknownAgentWarning
from sclero_analysis.therapy import (
    TIERS,
    edit_distance,
    load_vocabulary,
    normalize_key,
    resolve_agent_column,
    resolve_agents,
    split_agents,
)


def test_issue_example():
    line = resolve_agents("IVIg + lenolidamide")
    assert line.agents == ("IVIG", "lenalidomide")
    assert line.tier == "immunosuppression"
    assert line.adjunct_ecp is False
    assert line.unknown == ()


# --- one test per tier rule ----------------------------------------------------------------------
def test_rule_highest_order_tier_wins():
    assert resolve_agents("IVIG").tier == "ivig"
    assert resolve_agents("IVIG + lenalidomide").tier == "immunosuppression"
    assert resolve_agents("bortezomib + dexamethasone + IVIG").tier == "cytoreduction"
    assert resolve_agents("thalidomide; melphalan").tier == "cytoreduction"


def test_rule_other_only_without_an_ordered_tier_agent():
    assert resolve_agents("methotrexate").tier == "other"
    assert resolve_agents("cyclosporine; PUVA").tier == "other"
    # `other` has no order (docs/data_contract.md §2): an ordered-tier agent on the line sets the tier.
    assert resolve_agents("IVIG; cyclosporine").tier == "ivig"
    assert resolve_agents("melphalan; interferon alfa-2b").tier == "cytoreduction"


def test_rule_ecp_never_sets_the_tier():
    assert resolve_agents("IVIG; ECP").tier == "ivig"
    assert resolve_agents("IVIG; ECP").adjunct_ecp is True
    assert resolve_agents("lenalidomide + extracorporeal photopheresis").tier == "immunosuppression"
    alone = resolve_agents("ECP")
    assert (alone.tier, alone.adjunct_ecp) == ("other", True)


def test_rule_dexamethasone_is_cytoreduction_only_with_bortezomib():
    assert resolve_agents("dexamethasone").tier == "immunosuppression"
    assert resolve_agents("IVIG + dexamethasone").tier == "immunosuppression"
    assert resolve_agents("lenalidomide + dexamethasone").tier == "immunosuppression"
    assert resolve_agents("Velcade + dex").tier == "cytoreduction"
    vocabulary = load_vocabulary()
    dex = vocabulary.agents["dexamethasone"]
    assert dex.tier_on_line(["dexamethasone"]) == "immunosuppression"
    assert dex.tier_on_line(["dexamethasone", "bortezomib"]) == "cytoreduction"


def test_rule_close_misspellings_are_corrected_with_a_warning():
    with pytest.warns(AgentSpellingWarning, match="'lenalidomid' read as 'lenalidomide'"):
        line = resolve_agents("IVIg + lenalidomid")
    assert line.agents == ("IVIG", "lenalidomide")
    assert line.tier == "immunosuppression"  # the misspelling does not downgrade the line
    assert line.corrections == {"lenalidomid": "lenalidomide"} and line.unknown == ()
    with pytest.warns(AgentSpellingWarning, match="'bortezomid/dex' read as 'bortezomib; dexamethasone'"):
        assert resolve_agents("bortezomid/dex").tier == "cytoreduction"


@pytest.mark.parametrize("name", [
    "prednisolne",  # one letter from prednisone and from prednisolone: no single answer
    "pomalidomide",  # a real drug three letters from lenalidomide, not a misspelling
    "dox",  # too short to correct
])
def test_rule_names_that_are_not_close_to_one_agent_are_never_guessed(name):
    with pytest.warns(UnknownAgentWarning, match=f"unknown agent '{name}'"):
        line = resolve_agents(f"IVIG + {name}")
    assert line.unknown == (name,) and line.agents == ("IVIG",) and not line.corrections


def test_rule_unknown_agent_message_says_the_tier_the_line_has():
    with pytest.warns(UnknownAgentWarning) as caught:
        line = resolve_agents("IVIG + frobnicide")
    assert line.tier == "ivig"
    assert "the line's tier is 'ivig'" in str(caught[0].message)
    assert "'other'" not in str(caught[0].message)  # the message says what the data hold
    with pytest.warns(UnknownAgentWarning, match="no known agent, so its tier is 'other'"):
        alone = resolve_agents("frobnicide")
    assert alone.tier == "other"
    assert alone.agents_text == "frobnicide"


def test_edit_distance_counts_swaps_as_one_edit():
    assert edit_distance("lenalidomide", "lenalidomide") == 0
    assert edit_distance("bortezomib", "brotezomib") == 1
    assert edit_distance("abc", "") == 3


# --- vocabulary coverage ---------------------------------------------------------------------------
DESIGN_AGENTS = {
    "IVIG": "ivig", "prednisone": "immunosuppression", "prednisolone": "immunosuppression",
    "dexamethasone": "immunosuppression", "lenalidomide": "immunosuppression",
    "thalidomide": "immunosuppression", "melphalan": "cytoreduction",
    "bortezomib": "cytoreduction", "ASCT": "cytoreduction", "interferon alfa-2b": "other",
    "cyclosporine": "other", "methotrexate": "other", "plasmapheresis": "other",
    "retinoid": "other", "PUVA": "other", "radiotherapy": "other",
}


@pytest.mark.parametrize("agent, tier", sorted(DESIGN_AGENTS.items()))
def test_every_agent_of_the_guidance_is_in_the_vocabulary(agent, tier):
    assert load_vocabulary().agents[agent].tier == tier


@pytest.mark.parametrize(
    "written, canonical",
    [
        ("Revlimid", "lenalidomide"), ("Thalomid", "thalidomide"), ("Velcade", "bortezomib"),
        ("Alkeran", "melphalan"), ("Privigen", "IVIG"), ("Gamunex", "IVIG"),
        ("Octagam", "IVIG"), ("IVIg", "IVIG"), ("IVIG", "IVIG"), ("ivig", "IVIG"),
        ("ASCT", "ASCT"), ("auto-SCT", "ASCT"), ("ECP", "ECP"), ("IFN-a2b", "interferon alfa-2b"),
        ("IFN-α2b", "interferon alfa-2b"), ("lenolidamide", "lenalidomide"),
        ("ciclosporin", "cyclosporine"), ("isotretinoin", "isotretinoin"),
        ("intravenous immunoglobulin", "IVIG"), ("Solu-Medrol", "methylprednisolone"),
    ],
)
def test_brands_abbreviations_and_misspellings(written, canonical):
    assert resolve_agents(written).agents == (canonical,)


def test_regimen_names_expand_to_their_agents():
    assert resolve_agents("HDM-ASCT").agents == ("melphalan", "ASCT")
    assert resolve_agents("HDM-ASCT").tier == "cytoreduction"
    assert resolve_agents("VCd + IVIG").agents == (
        "bortezomib", "cyclophosphamide", "dexamethasone", "IVIG")
    assert resolve_agents("Len-Dex").agents == ("lenalidomide", "dexamethasone")


def test_separators_doses_and_repeats():
    assert split_agents("IVIG (Privigen) + dexamethasone, bortezomib") == [
        "IVIG", "dexamethasone", "bortezomib"]
    line = resolve_agents("IVIG 2 g/kg monthly; prednisone 1 mg/kg/day and IVIg")
    assert line.agents == ("IVIG", "prednisone")
    assert resolve_agents("bortezomib/dexamethasone").agents == ("bortezomib", "dexamethasone")


def test_normalize_key_ignores_case_and_punctuation():
    assert normalize_key("I.V.I.G.") == normalize_key("ivig") == "ivig"


def test_synonyms_never_name_two_agents():
    raw = tomllib.loads(resources.files("sclero_analysis").joinpath("therapies.toml").read_text())
    seen: dict[str, str] = {}
    for name, spec in raw["agents"].items():
        for written in [name, *spec.get("synonyms", [])]:
            key = normalize_key(written)
            assert seen.setdefault(key, name) == name, f"{written} names {seen[key]} and {name}"


def test_a_vocabulary_with_a_clash_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[tiers.ivig]\norder = 1\n[tiers.immunosuppression]\norder = 2\n'
        '[tiers.cytoreduction]\norder = 3\n[tiers.other]\n'
        '[agents.a]\nclass = "x"\ntier = "ivig"\nsynonyms = ["same"]\n'
        '[agents.b]\nclass = "x"\ntier = "other"\nsynonyms = ["SAME"]\n'
    )
    with pytest.raises(ValueError, match="names both"):
        load_vocabulary(path)


def test_resolve_agent_column_is_vectorised_and_silent():
    texts = pd.Series(["IVIG", "Velcade + dex", "IVIG; ECP", "frobnicide"], index=[10, 11, 12, 13])
    resolved = resolve_agent_column(texts)
    assert resolved.index.tolist() == [10, 11, 12, 13]
    assert resolved["tier"].tolist() == ["ivig", "cytoreduction", "ivig", "other"]
    assert resolved["tier"].cat.categories.tolist() == list(TIERS)
    assert resolved["tier"].cat.ordered
    assert resolved["adjunct_ecp"].tolist() == [False, False, True, False]
    assert resolved["agents"].tolist() == ["IVIG", "bortezomib; dexamethasone", "IVIG; ECP", "frobnicide"]
