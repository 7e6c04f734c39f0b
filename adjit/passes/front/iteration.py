"""iteration: `for` loops over arrays as loops over indices.

Input: a `ParsedFunction` after `tuples` (no loop over a tuple is left).
Output: every `for` over a range, or a placeholder until written.
"""

from __future__ import annotations

from adjit.passes.front.parse import ParsedFunction


def lower_iteration(parsed: ParsedFunction) -> ParsedFunction:
    return parsed
