"""``Strategy``: a management strategy of the treatment ladder, as data.

A strategy says which tiers a patient may start on (time zero: the first line's start), when
immunosuppression must be added (no PR or better on the line in course by a given month, within
a grace period), and
what severe patients get (cytoreduction within a grace period). It regulates escalation only:
stopping IVIG maintenance or changing agents within a tier is part of usual care under every
strategy, and a relapse or progression ends follow-up (it is the outcome), so rules after a
relapse do not arise.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The ladder's tiers in order; ``other`` is outside the ladder (a deviation from every strategy).
LADDER = ("ivig", "immunosuppression", "cytoreduction")


def _whole(value: float, name: str) -> float:
    if value < 0 or float(value) != int(value):
        raise ValueError(f"{name} must be a whole number of months (the weights' grid), not {value}")
    return float(value)


@dataclass(frozen=True)
class Strategy:
    """A management strategy: IVIG first, escalation rules on response and severity.

    Parameters
    ----------
    label : str
        Name shown in tables and figures.
    no_response_months : float, optional
        Without PR or better (``response``) on the line in course by this month (a patient who
        responded to a first line and then changed agents within the tier is judged on the new
        one), ``escalate_to`` must be added within ``grace_months``; before it, and for
        responders, no escalation. None: never escalate.
    grace_months : float
        Grace period of both rules (whole months).
    escalate_to : str
        Tier added for non-responders (``"immunosuppression"``).
    response : tuple of str
        Best responses that count as a response (``("CR", "PR")``: PR or better).
    severe : str, optional
        A ``DataFrame.query`` on the patients table defining severe disease at time zero (e.g.
        ``"mrss >= 30 or cardiac"``; a missing value is not severe). Severe patients must be on
        ``severe_tier`` by ``severe_within_months`` (any ladder tier before; none above after);
        the others follow the rules above.
    severe_tier : str
        Tier for severe patients (``"cytoreduction"``).
    severe_within_months : float
        Whole months from time zero within which severe patients start ``severe_tier``.

    Examples
    --------
    >>> Strategy.escalate_if_no_response(by_months=3, grace_months=1).label
    'escalate if no response by 3 months'
    >>> Strategy("escalate at 6 months", no_response_months=6, grace_months=2).grace_months
    2.0
    """

    label: str
    no_response_months: float | None = None
    grace_months: float = 0.0
    escalate_to: str = "immunosuppression"
    response: tuple[str, ...] = ("CR", "PR")
    severe: str | None = None
    severe_tier: str = "cytoreduction"
    severe_within_months: float = 1.0

    def __post_init__(self) -> None:
        """Check the rules: tiers of the ladder, whole months (the weights' monthly grid)."""
        for name in ("escalate_to", "severe_tier"):
            if getattr(self, name) not in LADDER[1:]:
                raise ValueError(f"{name} must be one of {LADDER[1:]}, not {getattr(self, name)!r}")
        object.__setattr__(self, "grace_months", _whole(self.grace_months, "grace_months"))
        object.__setattr__(
            self, "severe_within_months", _whole(self.severe_within_months, "severe_within_months")
        )
        if self.no_response_months is not None:
            object.__setattr__(
                self, "no_response_months", _whole(self.no_response_months, "no_response_months")
            )
        object.__setattr__(self, "response", tuple(self.response))

    @classmethod
    def never_escalate(cls) -> Strategy:
        """Stay on IVIG-tier therapy until relapse or progression."""
        return cls("never escalate")

    @classmethod
    def escalate_if_no_response(cls, by_months: float = 3, grace_months: float = 1) -> Strategy:
        """Add immunosuppression in ``grace_months`` unless the line in course responded by ``by_months``."""
        return cls(
            f"escalate if no response by {by_months:g} months",
            no_response_months=by_months,
            grace_months=grace_months,
        )

    @classmethod
    def early_cytoreduction(
        cls, if_severe: str = "mrss >= 30 or cardiac", within_months: float = 1
    ) -> Strategy:
        """Cytoreduction within ``within_months`` if severe (``if_severe``); otherwise never escalate."""
        return cls("early cytoreduction if severe", severe=if_severe, severe_within_months=within_months)

    @property
    def window(self) -> tuple[float, float] | None:
        """The (start, end] months of the non-responders' escalation window, None without one."""
        if self.no_response_months is None:
            return None
        return self.no_response_months, self.no_response_months + self.grace_months


def default_strategies() -> dict[str, Strategy]:
    """Return the three default strategies, keyed as the generator's truth keys them.

    Examples
    --------
    >>> list(default_strategies())
    ['never_escalate', 'escalate_if_no_response', 'early_cytoreduction']
    """
    return {
        "never_escalate": Strategy.never_escalate(),
        "escalate_if_no_response": Strategy.escalate_if_no_response(),
        "early_cytoreduction": Strategy.early_cytoreduction(),
    }
