"""The time unit and event codes every analysis frame uses (docs/data_contract.md §4), defined once.

A module of constants only, so that any layer (the analysis frames, the synthetic generator,
a study's fast path) can share them without importing the others.

Examples
--------
>>> 365.25 / 12 == DAYS_PER_MONTH
True
"""

#: Days per month used for every ``time_months`` column (365.25 / 12).
DAYS_PER_MONTH = 30.4375
#: Event codes of every analysis frame: censored, relapse or progression, death without it.
CENSORED, RELAPSE, DEATH = 0, 1, 2
