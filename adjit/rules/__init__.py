"""Derivative rules: the registry and the tables that fill it."""

from adjit.rules import numpy as _numpy_rules  # noqa: F401  (fills REGISTRY)
from adjit.rules import scalar as _scalar_rules  # noqa: F401  (fills REGISTRY)
from adjit.rules import arrays as _array_rules  # noqa: F401  (array rules)
from adjit.rules import axes as _axis_rules  # noqa: F401  (reductions along an axis)
from adjit.rules import generated as _helper_rules  # noqa: F401  (rules of rt.* helpers)
from adjit.rules import joins as _join_rules  # noqa: F401  (np.array of values, np.stack, ...)
from adjit.rules import scans as _scan_rules  # noqa: F401  (np.cumsum, np.cumprod, np.diff)
from adjit.rules import scipy as _scipy_rules  # noqa: F401  (scipy.special, scipy.stats)
from adjit.rules import random as _random_rules  # noqa: F401  (np.random draws)
from adjit.rules.registry import REGISTRY, Primitive

__all__ = ["REGISTRY", "Primitive"]
