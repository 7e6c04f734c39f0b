"""Every ```python block of README.md and docs/*.md runs as written.

Each block is a self-contained program (its own imports and example data),
run in a fresh namespace from a real file, because adjit reads the source of
the functions it differentiates (`inspect.getsource`). The file has the
block's code at the block's own line numbers (blank lines before it), so a
traceback points at the markdown line. A block whose info string says `gpu`
(```` ```python gpu ````) runs in a subprocess under Numba's CUDA simulator
(NUMBA_ENABLE_CUDASIM must be set before numba.cuda is first imported), and
is skipped when Numba's CUDA support cannot be imported.

Blocks that show generated source, shell sessions or output are tagged
```text or ```console and are not run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import subprocess
import sys
import textwrap
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))

# an opening or closing fence: indentation, three or more ` or ~, info string
_FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")

# fewer than this many python blocks means the parser lost some
MINIMUM_BLOCKS = 15


@dataclass
class Block:
    document: str           # path relative to the repository root
    line: int               # line of the opening fence (1-based)
    words: list[str]        # the info string, split
    code: str               # dedented, preceded by `line` blank lines

    @property
    def id(self) -> str:
        return f"{self.document}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of one markdown file, any language."""
    blocks = []
    lines = path.read_text(encoding="utf-8").splitlines()
    opening = None          # (line index, indent, fence, info words)
    body: list[str] = []
    for index, text in enumerate(lines):
        match = _FENCE.match(text)
        if opening is None:
            if match and not (match["fence"][0] == "`" and "`" in match["info"]):
                opening = (index, len(match["indent"]), match["fence"],
                           match["info"].split())
                body = []
            continue
        start, indent, fence, words = opening
        if (match and match["fence"][0] == fence[0]
                and len(match["fence"]) >= len(fence) and not match["info"].strip()):
            code = textwrap.dedent("\n".join(body))
            blocks.append(Block(str(path.relative_to(ROOT)), start + 1, words,
                                "\n" * (start + 1) + code + "\n"))
            opening = None
            continue
        # the fence's indentation is removed from its lines (as far as they have it)
        body.append(text[min(indent, len(text) - len(text.lstrip(" "))):])
    assert opening is None, f"{path}:{opening[0] + 1}: code block never closed"
    return blocks


def python_blocks() -> list[Block]:
    return [block for path in DOCUMENTS for block in code_blocks(path)
            if block.words and block.words[0] == "python"]


BLOCKS = python_blocks()


def _cuda_importable() -> bool:
    """Whether Numba's CUDA support (numba-cuda, or the numba.cuda Numba
    bundled) can be imported, without importing it here."""
    for name in ("numba_cuda", "numba.cuda"):
        try:
            if importlib.util.find_spec(name) is not None:
                return True
        except ImportError:
            pass
    return False


def _script(tmp_path: Path, block: Block) -> Path:
    name = re.sub(r"\W", "_", block.id)
    script = tmp_path / f"{name}.py"
    script.write_text(block.code, encoding="utf-8")
    return script


def test_the_docs_have_python_blocks():
    counts = {}
    for block in BLOCKS:
        counts[block.document] = counts.get(block.document, 0) + 1
    assert len(BLOCKS) >= MINIMUM_BLOCKS, counts
    assert set(counts) >= {"README.md", "docs/calls.md", "docs/supported.md",
                           "docs/higher-order.md", "docs/parallel.md"}, counts
    # every line that opens a python block, found without the parser
    opened = [f"{path.relative_to(ROOT)}:{number}" for path in DOCUMENTS
              for number, line in enumerate(path.read_text(encoding="utf-8")
                                            .splitlines(), 1)
              if re.match(r"\s*```python(\s|$)", line)]
    assert opened == [block.id for block in BLOCKS]


@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_block_runs(block: Block, tmp_path):
    script = _script(tmp_path, block)
    where = f"{block.id} (run as {script})"
    if "gpu" in block.words[1:]:
        if not _cuda_importable():
            pytest.skip("needs numba.cuda (pip install -e '.[cuda]') to run in the "
                        "CUDA simulator")
        environment = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT)] + [p for p in [environment.get("PYTHONPATH")] if p])
        run = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                             env=environment, capture_output=True, text=True,
                             timeout=600)
        if run.returncode != 0:
            pytest.fail(f"{where} failed in the CUDA simulator:\n{run.stderr}",
                        pytrace=False)
        return
    try:
        runpy.run_path(str(script), run_name="__main__")
    except (Exception, SystemExit) as error:      # a block must not exit either
        failure = f"{where} failed:\n{_from_the_block(error, script)}"
    else:
        return
    pytest.fail(failure, pytrace=False)


def _from_the_block(error: BaseException, script: Path) -> str:
    """The traceback of `error` from the block's first frame on (without
    this module's and runpy's frames)."""
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename != str(script):
        frames = frames.tb_next
    return "".join(traceback.format_exception(
        type(error), error, frames or error.__traceback__))
