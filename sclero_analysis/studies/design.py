"""``StudyDesign``: scenarios (a grid over registry-design fields), analyses, replicates, seeds."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sclero_analysis.studies.analyses import ANALYSES, Analysis
from sclero_analysis.synthetic.design import RegistryDesign
from sclero_analysis.synthetic.pathway import TIER_NAMES

#: Entropy added to the study seed for the scenario truths (a stream apart from the replicates').
TRUTH_STREAM = 0x7E57


class StudyDesignError(ValueError):
    """A study design that cannot be run; the message names the field."""


@dataclass(frozen=True)
class StudyDesign:
    """A Monte Carlo registry study: scenarios × analyses × replicates.

    Parameters
    ----------
    registry : RegistryDesign
        The base registry; each scenario changes the fields in ``vary``.
    vary : mapping of field name to list of values
        A full grid over these ``RegistryDesign`` fields (e.g. ``{"n_patients": [100, 200,
        400], "log_hr_cytoreduction": [0.0, -0.7]}``); empty: one scenario.
    analyses : sequence of str
        Names registered in :data:`~sclero_analysis.studies.ANALYSES` (``naive_cox``,
        ``adjusted_cox``, ``iptw_cox``, ``logrank``, ``fine_gray``, ``rmst_difference``, or the
        user's own).
    n_reps : int
        Replicates per scenario.
    alpha : float
        Two-sided level of tests and 1 − confidence level of intervals.
    seed : int
        Study seed: replicate i of scenario j uses ``SeedSequence(seed, spawn_key=(j, i))``.
    contrast : str
        The tier compared with IVIG (the reference).
    chunk_size : int
        Replicates simulated and fitted together (one task; memory is bounded by it).
    truth_patients : int
        Size of each truth registry: a large registry of the scenario's design on which the
        analyses' true values are computed (counterfactual lines for the generator's
        estimands, the analysis itself for a working-model estimand).
    truth_reps : int
        Truth registries per scenario, each a fresh cohort with its own site frailties: the
        true value is their mean, its Monte Carlo SE their SD / √truth_reps (so it includes
        the between-cohort variation).

    Examples
    --------
    >>> d = StudyDesign(vary={"n_patients": [100, 200]}, n_reps=10)
    >>> [s["n_patients"] for s in d.scenarios()]
    [100, 200]
    """

    registry: RegistryDesign = field(default_factory=RegistryDesign)
    vary: Mapping[str, Sequence] = field(default_factory=dict)
    analyses: Sequence[str] = ("naive_cox", "iptw_cox")
    n_reps: int = 1000
    alpha: float = 0.05
    seed: int = 1
    contrast: str = "cytoreduction"
    chunk_size: int = 100
    truth_patients: int = 5000
    truth_reps: int = 20

    def __post_init__(self) -> None:
        """Check everything before any computation; errors name the field."""
        object.__setattr__(self, "analyses", tuple(self.analyses))
        object.__setattr__(self, "vary", {k: list(v) for k, v in dict(self.vary).items()})
        self._check_vary()
        self._check_options()
        for j, params in enumerate(self._grid()):
            try:
                self.registry.replace(**params)
            except (ValueError, TypeError) as error:
                raise StudyDesignError(f"scenario {j} ({params}): {error}") from None

    def _check_vary(self) -> None:
        fields = {f.name for f in dataclasses.fields(RegistryDesign)}
        for name, values in self.vary.items():
            if name not in fields:
                hint = " (tier effects are log_hr_immunosuppression, log_hr_cytoreduction, " \
                       "log_hr_other)" if name.startswith("log_hr") else ""
                raise StudyDesignError(f"vary: {name!r} is not a RegistryDesign field{hint}")
            if len(values) == 0:
                raise StudyDesignError(f"vary: {name!r} has no values")

    def _check_options(self) -> None:
        unknown = [a for a in self.analyses if a not in ANALYSES]
        if unknown:
            raise StudyDesignError(f"analyses: unknown {unknown[0]!r}; registered: {sorted(ANALYSES)} "
                                   "(add your own with sa.studies.register_analysis)")
        if not self.analyses:
            raise StudyDesignError("analyses: name at least one analysis")
        if self.contrast not in TIER_NAMES[1:]:
            raise StudyDesignError(f"contrast: {self.contrast!r} is not a tier to compare with IVIG; "
                                   f"choose from {list(TIER_NAMES[1:])}")
        for name, low in (("n_reps", 1), ("chunk_size", 1), ("truth_patients", 100), ("truth_reps", 2)):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < low:
                raise StudyDesignError(f"{name}: must be an integer >= {low}, not {value!r}")
        if not 0 < self.alpha < 1:
            raise StudyDesignError(f"alpha: must be in (0, 1), not {self.alpha}")

    def _grid(self) -> list[dict]:
        names = list(self.vary)
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*self.vary.values())]

    def scenarios(self) -> list[dict]:
        """Return the varied fields' values of each scenario, in grid order."""
        return self._grid()

    def registry_design(self, scenario: int) -> RegistryDesign:
        """Return the registry design of one scenario."""
        return self.registry.replace(**self._grid()[scenario])

    def replicate_seed(self, scenario: int, replicate: int) -> np.random.SeedSequence:
        """Return the random stream of one replicate (independent of chunking and workers)."""
        return np.random.SeedSequence(self.seed, spawn_key=(scenario, replicate))

    def truth_seed(self, scenario: int) -> np.random.SeedSequence:
        """Return the random stream of a scenario's truth."""
        return np.random.SeedSequence([self.seed, TRUTH_STREAM], spawn_key=(scenario,))

    def get_analyses(self) -> list[Analysis]:
        """Return the analyses' registry entries, in the design's order."""
        return [ANALYSES[a] for a in self.analyses]

    def chunks(self) -> list[tuple[int, int, int]]:
        """Tasks: (scenario, first replicate, end replicate), chunk_size replicates each."""
        return [(j, start, min(start + self.chunk_size, self.n_reps))
                for j in range(len(self._grid())) for start in range(0, self.n_reps, self.chunk_size)]

    def as_dict(self) -> dict:
        """Plain values (for checkpoints and reports)."""
        return {"registry": self.registry.as_dict(), "vary": self.vary, "analyses": list(self.analyses),
                "n_reps": self.n_reps, "alpha": self.alpha, "seed": self.seed, "contrast": self.contrast,
                "chunk_size": self.chunk_size, "truth_patients": self.truth_patients,
                "truth_reps": self.truth_reps}

    def fingerprint(self) -> str:
        """SHA-256 of :meth:`as_dict`: a checkpoint belongs to exactly one design."""
        text = json.dumps(self.as_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_toml(cls, path: str | Path) -> StudyDesign:
        """Read ``[registry]`` fields, ``[vary]`` lists and ``[study]`` options from TOML.

        Examples
        --------
        A file such as::

            [registry]
            confounding = true
            [vary]
            n_patients = [100, 200, 400]
            [study]
            analyses = ["naive_cox", "iptw_cox"]
            n_reps = 500
            seed = 7
        """
        path = Path(path)
        values = tomllib.loads(path.read_text(encoding="utf-8"))
        unknown = set(values) - {"registry", "vary", "study"}
        if unknown:
            raise StudyDesignError(f"{path}: unknown sections {sorted(unknown)} (use registry, vary, study)")
        registry_fields = {f.name for f in dataclasses.fields(RegistryDesign)}
        registry = values.get("registry", {})
        bad = set(registry) - registry_fields
        if bad:
            raise StudyDesignError(f"{path}: [registry] unknown fields {sorted(bad)}")
        study = values.get("study", {})
        allowed = {f.name for f in dataclasses.fields(cls)} - {"registry", "vary"}
        bad = set(study) - allowed
        if bad:
            raise StudyDesignError(f"{path}: [study] unknown options {sorted(bad)}; "
                                   f"allowed {sorted(allowed)}")
        base = RegistryDesign(**{k: tuple(v) if isinstance(v, list) else v for k, v in registry.items()})
        return cls(registry=base, vary=values.get("vary", {}), **study)
