"""The user guide's code runs: every ```python block of each docs/guide page is executed in
order, in one namespace per page, in a fresh working directory, with matplotlib drawing to
files only (Agg). Blocks fenced ```python no-run (downloads, GPUs) are shown, not run."""
import re
import traceback
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: pages save figures, never show them

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide"
PAGES = sorted(p.name for p in GUIDE.glob("[0-9][0-9]-*.md"))
FENCE = re.compile(r"^```(\S*)(.*)$")


def code_blocks(text: str) -> list[tuple[int, str, str]]:
    """(first line number, info string, code) of every fenced block of a Markdown page."""
    blocks, info, start, lines = [], None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if info is None:
            if match and match.group(1):
                info, start, lines = (match.group(1) + match.group(2)).strip(), number + 1, []
        elif line.startswith("```"):
            blocks.append((start, info, "\n".join(lines) + "\n"))
            info = None
        else:
            lines.append(line)
    assert info is None, f"a code block opened at line {start - 1} is never closed"
    return blocks


def test_guide_has_pages():
    assert len(PAGES) >= 10, f"expected the guide's numbered pages in {GUIDE}, found {PAGES}"


@pytest.mark.parametrize("page", PAGES)
def test_page_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # pages write runs/, checkpoints and plots here, never into the repo
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("EMBER_HOME", str(tmp_path / "ember-home"))  # the hub cache of shipped weights
    blocks = [(line, code) for line, info, code in code_blocks((GUIDE / page).read_text(encoding="utf-8"))
              if info == "python"]
    assert blocks, f"{page} has no runnable ```python block"
    namespace = {"__name__": "__main__"}
    try:
        for line, code in blocks:
            try:
                exec(compile(code, f"{page}:{line}", "exec"), namespace)
            except Exception:
                first = code.strip().splitlines()[0]
                pytest.fail(f"{page}: the block at line {line} ({first!r}) failed:\n{traceback.format_exc()}",
                            pytrace=False)
    finally:
        plt.close("all")


def test_only_known_fences():
    """Every fence is plain ```python, ```python no-run, or another language; a misspelt
    'no-run' would silently skip a block instead of running it."""
    for page in PAGES:
        for line, found, _ in code_blocks((GUIDE / page).read_text(encoding="utf-8")):
            if found.startswith("python"):
                assert found in ("python", "python no-run"), f"{page}:{line}: unknown fence ```{found}"


def test_index_lists_every_page():
    index = (GUIDE / "README.md").read_text(encoding="utf-8")
    missing = [page for page in PAGES if f"({page})" not in index]
    assert not missing, f"docs/guide/README.md does not link {missing}"


def test_readme_links_the_guide():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/guide/README.md" in readme or "(docs/guide/)" in readme or "(docs/guide)" in readme, \
        "README.md should link the user guide, docs/guide/README.md"
