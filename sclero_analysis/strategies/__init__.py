"""Management strategies compared by target-trial emulation (clone, censor, weight)."""

from sclero_analysis._lazy import lazy_exports

_EXPORTS = {
    "Strategy": "rules",
    "default_strategies": "rules",
    "emulate_strategies": "emulate",
    "StrategyEmulation": "result",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["Strategy", "StrategyEmulation", "default_strategies", "emulate_strategies"]
