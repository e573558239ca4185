"""Therapy vocabulary and tiering: agent names in, canonical agents and the line's tier out.

The vocabulary is data (``therapies.toml``); this module only reads it and applies the rules of
docs/data_contract.md §2:

* a line's tier is the highest-order tier among its agents;
* ``other`` has no order: it is the tier only when no agent of an ordered tier is on the line;
* extracorporeal photopheresis (ECP) is adjunctive: it never sets the tier, it sets
  ``adjunct_ecp``;
* an agent's tier may depend on its companions (``tier_with``): dexamethasone is cytoreduction
  only together with bortezomib;
* a close misspelling of a known name (one letter off, two in names of ten letters or more,
  and closer to one agent than to any other) is read as that agent, with an
  ``AgentSpellingWarning`` naming the correction, so that "IVIg + lenalidomid" is tier
  ``immunosuppression`` as its writer meant;
* other unknown names are reported (``UnknownAgentWarning``), with the closest known name as a
  suggestion, never guessed. An unknown name sets no tier: the line's tier comes from its known
  agents, or is ``other`` when it has none, and the warning says which.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from sclero_analysis.exceptions import AgentSpellingWarning, UnknownAgentWarning

#: Tier labels in category order (the first is the reference level of every comparison).
TIERS: tuple[str, ...] = ("ivig", "immunosuppression", "cytoreduction", "other")
#: Ordered categorical dtype of the ``tier`` column in every frame.
TIER_DTYPE = pd.CategoricalDtype(list(TIERS), ordered=True)
#: Separator written between canonical agent names in the ``agents`` column.
AGENT_SEPARATOR = "; "

_SPLIT = re.compile(r"\s*(?:;|\+|,|&|[\r\n]|\band\b|\bwith\b|\bplus\b)\s*", flags=re.IGNORECASE)
_PARENTHESES = re.compile(r"\([^)]*\)")
_DOSE = re.compile(
    r"\s\d[\d.,]*\s*(?:mg|g|mcg|µg|ug|iu|units?|ml|x|cycles?)\b.*$", flags=re.IGNORECASE
)
#: Shortest name (as a key) that is corrected when misspelled; shorter ones ("dex") are not.
MIN_CORRECTED = 5
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "κ": "kappa", "λ": "lambda"}


def normalize_key(name: str) -> str:
    """Return the matching key of an agent name: lower case, letters and digits only.

    Parameters
    ----------
    name : str
        An agent name as written in a case report or registry export.

    Returns
    -------
    str
        The key; Greek letters are spelled out (``α`` → ``alpha``).

    Examples
    --------
    >>> normalize_key("IFN-α2b")
    'ifnalpha2b'
    >>> normalize_key(" i.v.I.g. ")
    'ivig'
    """
    text = name.casefold()
    for letter, word in _GREEK.items():
        text = text.replace(letter, word)
    return re.sub(r"[^0-9a-z]", "", text)


@dataclass(frozen=True)
class Agent:
    """One canonical agent of the vocabulary.

    Attributes
    ----------
    name : str
        Canonical name, as written into the ``agents`` column.
    drug_class : str
        Pharmacological class (``glucocorticoid``, ``proteasome inhibitor`` …).
    tier : str or None
        Tier the agent sets on its own; None for adjunctive agents.
    adjunct : bool
        True for adjunctive agents (ECP), which never set the tier.
    tier_with : Mapping[str, str]
        Companion agent → tier that applies when that companion is on the same line.
    """

    name: str
    drug_class: str
    tier: str | None
    adjunct: bool = False
    tier_with: Mapping[str, str] = field(default_factory=dict)

    def tier_on_line(self, companions: Iterable[str]) -> str | None:
        """Return this agent's tier given the other canonical agents on the line."""
        for companion, tier in self.tier_with.items():
            if companion in companions:
                return tier
        return self.tier


@dataclass(frozen=True)
class ResolvedAgents:
    """The agents of one therapy line, resolved through the vocabulary.

    Attributes
    ----------
    text : str
        The text as given.
    agents : tuple of str
        Canonical agent names, in order of first mention, without repeats.
    tier : str
        The line's tier (one of :data:`TIERS`).
    adjunct_ecp : bool
        True when ECP is on the line.
    unknown : tuple of str
        Names not found in the vocabulary, as written.
    suggestions : Mapping[str, str]
        Unknown name → closest canonical agent, where one is close.
    corrections : Mapping[str, str]
        Misspelled name as written → the canonical agent(s) it was read as.
    """

    text: str
    agents: tuple[str, ...]
    tier: str
    adjunct_ecp: bool
    unknown: tuple[str, ...] = ()
    suggestions: Mapping[str, str] = field(default_factory=dict)
    corrections: Mapping[str, str] = field(default_factory=dict)

    @property
    def agents_text(self) -> str:
        """Canonical agents then unknown names, joined by ``"; "`` (the ``agents`` column)."""
        return AGENT_SEPARATOR.join(self.agents + self.unknown)

    def unknown_message(self, name: str) -> str:
        """Explain one unknown name and the tier the line has without it."""
        hint = self.suggestions.get(name)
        suggestion = f" (did you mean '{hint}'?)" if hint else ""
        if self.agents:
            effect = (f"it sets no tier, so the line's tier is '{self.tier}', from its known "
                      f"agents ({', '.join(self.agents)})")
        else:
            effect = "the line has no known agent, so its tier is 'other'"
        return (f"unknown agent '{name}'{suggestion}: {effect}. Correct the name or add it to "
                "therapies.toml")

    def correction_message(self, name: str) -> str:
        """Explain how a misspelled name was read."""
        return (f"agent '{name}' read as '{self.corrections[name]}' (a close misspelling); the "
                f"line's tier is '{self.tier}'. Correct the name or add the spelling to "
                "therapies.toml")


@dataclass(frozen=True)
class Vocabulary:
    """Agents, synonyms, regimens and tier order, read from a TOML file.

    Use :func:`load_vocabulary` to build one; :meth:`resolve` applies the tier rules.
    """

    tier_order: Mapping[str, int | None]
    agents: Mapping[str, Agent]
    lookup: Mapping[str, tuple[str, ...]]

    def resolve(self, text: str) -> ResolvedAgents:
        """Resolve one line's agent text (no warning; see :func:`resolve_agents`)."""
        canonical: list[str] = []
        unknown: list[str] = []
        corrections: dict[str, str] = {}
        for token in split_agents(text):
            names = self._match(token)
            if names is None and (names := self._match(token, close=True)) is not None:
                corrections[token] = "; ".join(names)
            if names is None:
                unknown.append(token)
            else:
                canonical.extend(n for n in names if n not in canonical)
        return ResolvedAgents(
            text=text,
            agents=tuple(canonical),
            tier=self._line_tier(canonical),
            adjunct_ecp=any(self.agents[n].adjunct for n in canonical),
            unknown=tuple(unknown),
            suggestions={u: s for u in unknown if (s := self.suggest(u)) is not None},
            corrections=corrections,
        )

    def suggest(self, name: str) -> str | None:
        """Return the canonical agent whose name or synonym is closest to ``name``, if any."""
        close = difflib.get_close_matches(normalize_key(name), self.lookup, n=1, cutoff=0.75)
        return "; ".join(self.lookup[close[0]]) if close else None

    def _find(self, text: str, close: bool) -> tuple[str, ...] | None:
        key = normalize_key(text)
        names = self.lookup.get(key)
        return self._closest(key) if names is None and close else names

    def _match(self, token: str, close: bool = False) -> tuple[str, ...] | None:
        for candidate in (token, _strip_dose(token)):
            names = self._find(candidate, close)
            if names is not None:
                return names
        # "lenalidomide-dexamethasone", "bortezomib/dex": accepted only when every part is known.
        for separator in ("/", "-"):
            parts = [p for p in _strip_dose(token).split(separator) if p.strip()]
            matched = [self._find(p, close) for p in parts]
            if len(parts) > 1 and all(m is not None for m in matched):
                return tuple(n for names in matched for n in names)
        return None

    def _closest(self, key: str) -> tuple[str, ...] | None:
        """Return the one agent (or regimen) a misspelled key is closest to, within the tolerance."""
        if len(key) < MIN_CORRECTED:
            return None
        limit = 1 if len(key) < 10 else 2
        best: dict[tuple[str, ...], int] = {}
        for candidate, names in self.lookup.items():
            if len(candidate) >= MIN_CORRECTED and abs(len(candidate) - len(key)) <= limit:
                distance = edit_distance(key, candidate)
                if distance <= limit and distance < best.get(names, limit + 1):
                    best[names] = distance
        if not best:
            return None
        nearest = min(best.values())
        winners = [names for names, distance in best.items() if distance == nearest]
        return winners[0] if len(winners) == 1 else None

    def _line_tier(self, canonical: list[str]) -> str:
        tiers = [self.agents[n].tier_on_line(canonical) for n in canonical]
        ordered = [t for t in tiers if t is not None and self.tier_order[t] is not None]
        if ordered:
            return max(ordered, key=lambda t: self.tier_order[t])
        return "other"


def edit_distance(a: str, b: str) -> int:
    """Return the number of single-letter edits (insert, delete, replace, swap) from a to b.

    Examples
    --------
    >>> edit_distance("lenalidomid", "lenalidomide"), edit_distance("bortezomib", "brotezomib")
    (1, 1)
    """
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def split_agents(text: str) -> list[str]:
    """Split a line's agent text into agent names.

    Separators are ``;`` (the data contract's), ``+``, ``,``, ``&``, a line break (Alt+Enter
    in a spreadsheet cell) and the words *and*, *with*, *plus*; parenthesised remarks are
    dropped.

    Parameters
    ----------
    text : str
        For example ``"IVIg + lenolidamide"`` or ``"bortezomib; dexamethasone; IVIG"``.

    Returns
    -------
    list of str
        Non-empty names, stripped, in order.

    Examples
    --------
    >>> split_agents("IVIG (Privigen) + dexamethasone, bortezomib")
    ['IVIG', 'dexamethasone', 'bortezomib']
    """
    cleaned = _PARENTHESES.sub(" ", text)
    return [token.strip() for token in _SPLIT.split(cleaned) if token and token.strip()]


def _strip_dose(token: str) -> str:
    """Drop a dose and what follows it: ``"IVIG 2 g/kg monthly"`` → ``"IVIG"``."""
    return _DOSE.sub("", token).strip()


def _build_lookup(agents: Mapping[str, Agent], raw: Mapping) -> dict[str, tuple[str, ...]]:
    lookup: dict[str, tuple[str, ...]] = {}

    def add(name: str, target: tuple[str, ...]) -> None:
        key = normalize_key(name)
        if key in lookup and lookup[key] != target:
            raise ValueError(f"therapies.toml: '{name}' names both {lookup[key]} and {target}")
        lookup[key] = target

    for name, spec in raw["agents"].items():
        add(name, (name,))
        for synonym in spec.get("synonyms", []):
            add(synonym, (name,))
    for regimen, members in raw.get("regimens", {}).items():
        missing = [m for m in members if m not in agents]
        if missing:
            raise ValueError(f"therapies.toml: regimen '{regimen}' names unknown {missing}")
        add(regimen, tuple(members))
    return lookup


def _parse_vocabulary(raw: Mapping) -> Vocabulary:
    tier_order = {name: spec.get("order") for name, spec in raw["tiers"].items()}
    if tuple(tier_order) != TIERS:
        raise ValueError(f"therapies.toml: tiers must be {TIERS}, found {tuple(tier_order)}")
    agents = {
        name: Agent(
            name=name,
            drug_class=spec["class"],
            tier=spec.get("tier"),
            adjunct=bool(spec.get("adjunct", False)),
            tier_with=dict(spec.get("tier_with", {})),
        )
        for name, spec in raw["agents"].items()
    }
    for agent in agents.values():
        used = [agent.tier, *agent.tier_with.values()]
        if agent.adjunct == (agent.tier is not None) or not set(used) - {None} <= set(TIERS):
            raise ValueError(f"therapies.toml: agent '{agent.name}' has an invalid tier")
    return Vocabulary(tier_order=tier_order, agents=agents, lookup=_build_lookup(agents, raw))


@lru_cache(maxsize=8)
def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """Read a therapy vocabulary (the packaged ``therapies.toml`` by default).

    Parameters
    ----------
    path : str or Path, optional
        A TOML file with the layout of the packaged one, for a project's own vocabulary.

    Returns
    -------
    Vocabulary
        Agents, synonyms and regimens, ready to resolve line texts.

    Raises
    ------
    ValueError
        When a synonym names two different agents or a tier is not one of :data:`TIERS`.

    Examples
    --------
    >>> vocabulary = load_vocabulary()
    >>> vocabulary.agents["bortezomib"].tier
    'cytoreduction'
    """
    if path is None:
        text = resources.files("sclero_analysis").joinpath("therapies.toml").read_text("utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return _parse_vocabulary(tomllib.loads(text))


def resolve_agents(text: str, vocabulary: Vocabulary | None = None) -> ResolvedAgents:
    """Resolve the agents of one therapy line and derive its tier.

    Parameters
    ----------
    text : str
        Agent names as written, e.g. ``"IVIg + lenolidamide"``.
    vocabulary : Vocabulary, optional
        Defaults to the packaged vocabulary.

    Returns
    -------
    ResolvedAgents
        Canonical agents, ``tier``, ``adjunct_ecp`` and the ``unknown`` names.

    Warns
    -----
    UnknownAgentWarning
        Once per unknown name, with the closest known name when there is one.
    AgentSpellingWarning
        Once per misspelled name read as a known agent, naming the correction.

    Notes
    -----
    The tier is the highest-order tier among the line's agents (ivig < immunosuppression <
    cytoreduction); ``other`` applies only when no ordered-tier agent is present, and ECP never
    sets the tier (docs/data_contract.md §2).

    Examples
    --------
    >>> line = resolve_agents("IVIg + lenolidamide")
    >>> line.agents, line.tier, line.adjunct_ecp
    (('IVIG', 'lenalidomide'), 'immunosuppression', False)
    >>> resolve_agents("bortezomib; dexamethasone; IVIG").tier
    'cytoreduction'
    """
    resolved = (vocabulary or load_vocabulary()).resolve(text)
    for name in resolved.corrections:
        warnings.warn(resolved.correction_message(name), AgentSpellingWarning, stacklevel=2)
    for name in resolved.unknown:
        warnings.warn(resolved.unknown_message(name), UnknownAgentWarning, stacklevel=2)
    return resolved


def resolve_agent_column(
    agents: pd.Series, vocabulary: Vocabulary | None = None
) -> pd.DataFrame:
    """Resolve a column of agent texts at once (each distinct text is resolved once).

    Parameters
    ----------
    agents : pandas.Series
        Agent texts, one per therapy line; missing values are not allowed.
    vocabulary : Vocabulary, optional
        Defaults to the packaged vocabulary.

    Returns
    -------
    pandas.DataFrame
        Same index as ``agents``; columns ``agents`` (canonical text), ``tier`` (ordered
        categorical), ``adjunct_ecp`` (bool), ``resolved`` (the :class:`ResolvedAgents`) and
        ``to_report`` (bool: the line has an unknown or a corrected name). Unknown and
        corrected names do not warn here: callers report them.

    Examples
    --------
    >>> resolve_agent_column(pd.Series(["IVIG", "Velcade + dex"]))["tier"].tolist()
    ['ivig', 'cytoreduction']
    """
    vocabulary = vocabulary or load_vocabulary()
    codes, texts = pd.factorize(agents.to_numpy(dtype=object))
    if (codes < 0).any():
        raise ValueError("agents must not be missing")
    distinct = [vocabulary.resolve(text) for text in texts]
    return pd.DataFrame(
        {
            "agents": pd.array(np.array([r.agents_text for r in distinct], dtype=object)[codes],
                               dtype="string"),
            "tier": pd.Categorical.from_codes(
                np.array([TIERS.index(r.tier) for r in distinct], dtype=int)[codes], dtype=TIER_DTYPE),
            "adjunct_ecp": np.array([r.adjunct_ecp for r in distinct], dtype=bool)[codes],
            "resolved": np.array(distinct + [None], dtype=object)[codes],
            "to_report": np.array([bool(r.unknown or r.corrections) for r in distinct] + [False])[codes],
        },
        index=agents.index,
    )
