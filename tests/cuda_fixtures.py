"""Functions of scalars for tests/test_cuda.py (read by adjit from this file)."""

import math


def pair_energy(r, epsilon, sigma):
    """A Lennard-Jones-like pair potential with a soft cutoff."""
    s = sigma / r
    s6 = s ** 6
    energy = 4.0 * epsilon * (s6 * s6 - s6)
    return energy * math.exp(-0.1 * r * r)


def sample_loss(prediction, target, width):
    """A per-sample loss with a branch (Huber-like, then a log-cosh tail)."""
    residual = (prediction - target) / width
    if abs(residual) < 1.0:
        return 0.5 * residual * residual
    return math.log(math.cosh(residual)) + math.sqrt(width) * 0.1


def damped_orbit(x, steps):
    """A recurrence: the reverse sweep would need a tape of `a`."""
    a = x
    for i in range(steps):
        a = math.sin(a) * 1.1 + 0.01 * i
    return a


def of_array(x):
    return x[0] * 2.0
