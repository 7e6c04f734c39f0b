"""Derivative rules: the registry and the tables that fill it."""

import sys


from adjit.rules import numpy as _numpy_rules  # noqa: F401  (fills REGISTRY)
from adjit.rules import scalar as _scalar_rules  # noqa: F401  (fills REGISTRY)
from adjit.rules import arrays as _array_rules  # noqa: F401  (array rules)
from adjit.rules import axes as _axis_rules  # noqa: F401  (reductions along an axis)
from adjit.rules import generated as _helper_rules  # noqa: F401  (rules of rt.* helpers)
from adjit.rules import joins as _join_rules  # noqa: F401  (np.array of values, np.stack, ...)
from adjit.rules import scans as _scan_rules  # noqa: F401  (np.cumsum, np.cumprod, np.diff)
from adjit.rules import random as _random_rules  # noqa: F401  (np.random draws)
from adjit.rules.registry import REGISTRY, DefinitionError, Primitive

# scipy.special and scipy.stats: registered once the user's code imports them
# (or generated code calls the runtime's special functions)
_SCIPY = ("scipy.special", "scipy.stats")
REGISTRY.defer("adjit.rules.scipy", _SCIPY, owners=("adjit.runtime.special",))


def library_definition(callee, call):
    """The Python function adjit inlines for a call of a SciPy function
    that has one (`rules.scipy.definition_for`), else None; SciPy's rules
    are imported only where SciPy is."""
    if not any(name in sys.modules for name in _SCIPY):
        return None
    from adjit.rules.scipy import definition_for
    return definition_for(callee, call)


__all__ = ["REGISTRY", "DefinitionError", "Primitive", "library_definition"]
