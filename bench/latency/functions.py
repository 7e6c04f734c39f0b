"""Functions the compile-latency bench differentiates besides the workloads.

`particle_energy` is a 50-line function of the kind a user brings first: a
pair loop with periodic images and a cutoff, branches, `math` calls, a
local array and a few small loops after it. `scalar_model` is a 10-line
function of three numbers, differentiated twice (`jit.hessian`).
"""

from __future__ import annotations

import math

import numpy as np


def particle_energy(pos, charge, box, cutoff):
    n = pos.shape[0]
    half = 0.5 * box
    cut2 = cutoff * cutoff
    pair = 0.0
    coulomb = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            dx = pos[j, 0] - pos[i, 0]
            dy = pos[j, 1] - pos[i, 1]
            dz = pos[j, 2] - pos[i, 2]
            if dx > half:
                dx -= box
            elif dx < -half:
                dx += box
            if dy > half:
                dy -= box
            elif dy < -half:
                dy += box
            if dz > half:
                dz -= box
            elif dz < -half:
                dz += box
            r2 = dx * dx + dy * dy + dz * dz
            if r2 < cut2:
                inv2 = 1.0 / r2
                inv6 = inv2 * inv2 * inv2
                pair += 4.0 * (inv6 * inv6 - inv6)
                r = math.sqrt(r2)
                coulomb += charge[i] * charge[j] * math.erfc(0.3 * r) / r
    centre = np.zeros(3)
    for i in range(n):
        for d in range(3):
            centre[d] += pos[i, d] / n
    spread = 0.0
    for i in range(n):
        s = 0.0
        for d in range(3):
            s += (pos[i, d] - centre[d]) ** 2
        spread += s
    confine = 0.0
    for i in range(n):
        for d in range(3):
            x = pos[i, d] / box
            if x < 0.0 or x > 1.0:
                confine += 100.0 * min(x, 1.0 - x) ** 2
    total_charge = np.sum(charge)
    neutral = total_charge * total_charge
    bonded = 0.0
    for i in range(n - 1):
        b = math.sqrt((pos[i + 1, 0] - pos[i, 0]) ** 2 + (pos[i + 1, 1] - pos[i, 1]) ** 2 + 1e-12)
        bonded += 0.5 * (b - 1.0) ** 2 + 0.1 * math.tanh(b)
    return pair + coulomb + 0.01 * spread + confine + neutral + bonded


def particle_inputs(n: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 5.0, (n, 3)), rng.normal(size=n), 5.0, 2.5


def scalar_model(a, b, c):
    u = a * b + math.sin(c)
    v = math.exp(-u * u) + math.log(1.0 + a * a)
    w = 0.0
    for k in range(5):
        w = w * 0.5 + math.tanh(u + k * v)
    if w > 0.0:
        w = w * c
    else:
        w = w - c
    return w + u * v
