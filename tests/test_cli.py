"""`python -m adjit show` and `python -m adjit demo` from the shell."""

import os
import subprocess
import sys
import textwrap

import pytest

MODEL = textwrap.dedent("""
    import math

    def loop(a, b, n):
        for i in range(n):
            a = a * 0.9 + math.sin(a) * b
        return a

    def refused(x):
        try:
            return x
        except ValueError:
            return 0.0
""")


def adjit_command(*arguments, cwd):
    return subprocess.run([sys.executable, "-m", "adjit", *arguments], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=os.getcwd()))


@pytest.fixture
def model(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    return tmp_path


@pytest.mark.parametrize("mode, header", [("rev", "def loop_grad(a, b, n):"),
                                          ("fwd", "def loop_jvp(a, b, n, _d_a, _d_b):")])
def test_show_prints_the_generated_source(model, mode, header):
    result = adjit_command("show", "model.py:loop", "--wrt", "a,b", "--mode", mode,
                           "--sig", "float64, float64, int64", "--target", "python",
                           cwd=model)
    assert result.returncode == 0, result.stderr
    assert header in result.stdout
    assert "# from line 6: a = a * 0.9 + math.sin(a) * b" in result.stdout


def test_show_reports_an_unsupported_construct_without_traceback(model):
    result = adjit_command("show", "model.py:refused", "--target", "python", cwd=model)
    assert result.returncode == 2
    assert "model.py:10:" in result.stderr and "`try` statement" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_runs_and_checks_itself(tmp_path):
    result = adjit_command("demo", "--n", "1000", "--repeats", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok ") >= 3
