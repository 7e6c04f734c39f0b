"""Functions with custom derivative rules, for tests/test_custom_rules.py
(module level: rules are registered once, at import, as users do)."""

import math

import numba
import numpy as np

import adjit


@adjit.differentiable
def my_sin(x):
    return math.sin(x)


@my_sin.defvjp
def my_sin_vjp(g, ans, x):
    return g * math.cos(x)


@my_sin.defjvp
def my_sin_jvp(tangents, ans, x):
    return tangents[0] * math.cos(x)


@numba.njit
def softclip(x, c):
    return c * math.tanh(x / c)


def softclip_vjp(g, ans, x, c):
    t = math.tanh(x / c)
    return g * (1.0 - t * t), g * (t - x / c * (1.0 - t * t))


def softclip_jvp(tangents, ans, x, c):
    t = math.tanh(x / c)
    return tangents[0] * (1.0 - t * t) + tangents[1] * (t - x / c * (1.0 - t * t))


adjit.defvjp(softclip, softclip_vjp)
adjit.defjvp(softclip, softclip_jvp)


@adjit.differentiable
def vector_sin(x):
    return np.sin(x)


@vector_sin.defvjp
def vector_sin_vjp(g, ans, x):
    return g * np.cos(x)


@vector_sin.defjvp
def vector_sin_jvp(tangents, ans, x):
    return tangents[0] * np.cos(x)


def quantize(x):
    return float(round(x * 4.0)) / 4.0


adjit.nondifferentiable(quantize)


@adjit.differentiable
def only_reverse(x):
    return x * x


@only_reverse.defvjp
def only_reverse_vjp(g, ans, x):
    return 2.0 * g * x


@adjit.differentiable
def wrong_rule(x):
    return math.exp(x)


@wrong_rule.defvjp
def wrong_rule_vjp(g, ans, x):
    return g * ans * 1.001


@wrong_rule.defjvp
def wrong_rule_jvp(tangents, ans, x):
    return tangents[0] * ans
