"""The benchmark workloads, one module each, with one interface.

A workload module defines

* ``TITLE``: one line saying what is differentiated;
* ``SIZES`` and ``QUICK_SIZES``: the problem sizes of a full and a quick run
  (ints, or tuples of ints), ``size_label(size)`` and ``parse_size(text)``;
* ``make_inputs(size, seed)``: the arguments, from a seeded generator;
* ``SYSTEMS``: an ordered dict, system name -> factory. A factory takes the
  inputs and returns a `Run`: a call without arguments that computes the
  gradient (or, for the primal, the value) and a note on the form of the
  code that was run. Factories import peers themselves, inside the worker
  process, so a workload module imports nothing but NumPy and Numba;
* optionally ``not_applicable(system, size)``: a reason, or None.

System names the harness knows: ``numba primal`` (the time every ratio
divides by), ``numba hand`` (the expert's gradient), ``adjit``, and the
peers ``torch``, ``jax``, ``autograd``. A workload may add rows of its own,
named after the system they run on (``numba primal (no arrays)``, ``adjit
(no arrays)``: another form of the same function); they are timed and shown
like the rest, a primal's value is not compared with the gradients, and an
adjit row gets adjit's treatment (cold and cached compile, "unsupported").
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Callable, NamedTuple

NAMES = ("kernel_norm", "gmm", "lstm", "heat", "scalar_loop", "options", "smoothing", "jacobi")

PRIMAL = "numba primal"
HAND = "numba hand"
ADJIT = "adjit"
PEERS = ("torch", "jax", "autograd")


class Run(NamedTuple):
    call: Callable[[], object]
    form: str


def load(name: str) -> ModuleType:
    if name not in NAMES:
        raise KeyError(f"no workload {name!r}; the workloads are {', '.join(NAMES)}")
    return importlib.import_module(f"bench.workloads.{name}")


def is_primal(system: str) -> bool:
    return system.startswith(PRIMAL)


def is_adjit(system: str) -> bool:
    return system.startswith(ADJIT)
