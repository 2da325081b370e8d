"""The documentation stays true: the tutorial runs, every number in the docs matches the saved data,
and every reference to the science page points at a section that exists."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "experiments"))

import report  # noqa: E402  (experiments/report.py)


def _python_blocks(path: Path) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^```python\n(.*?)^```", path.read_text(), re.S | re.M)]


def test_tutorial_code_blocks_run(tmp_path, monkeypatch):
    """Every python block of docs/tutorial.md, in order, in one namespace (as a reader would paste them)."""
    import matplotlib

    matplotlib.use("Agg")
    blocks = _python_blocks(DOCS / "tutorial.md")
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__tutorial__"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"docs/tutorial.md block {i + 1}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message names the failing block
            raise AssertionError(f"docs/tutorial.md block {i + 1} failed: {e!r}\n{code}") from e
    r, rs, ds, comp = namespace["r"], namespace["rs"], namespace["ds"], namespace["comp"]
    assert 0.0 <= r.test_error <= 1.0 and len(rs) == 3
    assert set(ds["test_error"].dims) == {"snr", "init_scale", "seed"}
    assert comp.n_compared >= 1
    assert (Path(namespace["work"]) / "phase.png").stat().st_size > 0


def test_docs_numbers_in_sync_with_saved_data():
    """`python experiments/report.py --check`: summaries match their data, docs blocks match the summaries."""
    stale = report.stale_summaries()
    assert not stale, "\n".join(stale)
    out_of_date = report.out_of_date_docs()
    assert not out_of_date, f"run `python experiments/report.py --docs-only`: {out_of_date}"


def test_every_docs_block_has_a_registered_or_saved_summary():
    names = {m["name"] for p in report.doc_files() for m in report._blocks(p.read_text())}
    assert {"main", "kou2023", "n_mu", "init_scale", "scaling_fit"} <= names
    for name in names:
        assert report.summary_path(name).exists(), name


def _close(a, b, path=""):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(report.SUMMARIES))
def test_summary_recomputes_from_saved_data(name):
    """Each saved summary is what its function computes from the saved data (nothing typed by hand)."""
    saved = report.load(name)
    fresh = report.compute(name)
    assert fresh["inputs"] == saved["inputs"]
    _close(fresh["values"], saved["values"], name)


def test_render_blocks():
    """Blocks render dotted names, list indices and keys with dots; errors name the block and the field."""
    values = {"C": 5.5113, "compare": {"slope": {"n": {"slope": -0.3076}}}, "per": [{"x": 1.5}], "by": {"0.001": {"r": 1.64}}}
    text = "{C:.3g} {compare.slope.n.slope:.2f} {per.0.x} {by[0.001].r:.2f}"
    assert report.render(text, values) == "5.51 -0.31 1.5 1.64"
    with pytest.raises(KeyError, match="nope"):
        report.render("{nope}", values)


def test_regenerate_is_idempotent(tmp_path, monkeypatch):
    summary = tmp_path / "toy.summary.json"
    summary.write_text(json.dumps({"name": "toy", "inputs": {}, "values": {"C": 2.0}}))
    monkeypatch.setattr(report, "summary_path", lambda name: tmp_path / f"{name}.summary.json")
    text = "a\n<!-- numbers: toy\nC is {C:.1f}.\n-->\nstale 9.9\n<!-- /numbers -->\nb\n"
    once = report.regenerate(text)
    assert "C is 2.0." in once and "stale" not in once and "C is {C:.1f}." in once
    assert report.regenerate(once) == once
    with pytest.raises(ValueError, match="toy"):
        report.regenerate(text.replace("{C:.1f}", "{D}"))


# ------------------------------------------------------------------------------- references


def _headings(md: Path) -> list[str]:
    return [m.group(2).strip() for m in re.finditer(r"^(#{1,4}) (.+)$", md.read_text(), re.M)]


def _tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        pytest.skip("not a git checkout")
    keep = (".py", ".md", ".toml", ".yml", ".yaml", ".cff", ".txt")
    return [ROOT / f for f in out if f.endswith(keep) and (ROOT / f).is_file()]


def test_science_references_resolve():
    """Outside docs/, the science page is cited as docs/science.md with an existing section name; no "§" numbers."""
    sections = _headings(DOCS / "science.md")
    bad = []
    for path in _tracked_text_files():
        rel = path.relative_to(ROOT).as_posix()
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if "science.md" not in line or rel == "tests/test_docs.py":
                continue
            for m in re.finditer(r"(\S*)science\.md", line):
                prefix = m.group(1).lstrip("([`'\"")
                if rel.startswith("docs/") or rel == "mkdocs.yml":  # paths relative to docs/
                    ok = prefix in ("", "../docs/") or prefix.endswith("](")
                else:
                    ok = prefix.endswith("docs/")
                if not ok:
                    bad.append(f"{rel}:{lineno}: {line.strip()}")
            if "§" in line:
                bad.append(f"{rel}:{lineno}: section numbers instead of names: {line.strip()}")
            for title in re.findall(r'science\.md[^"\n]{0,4}"([^"]+)"', line):
                if not any(h.startswith(title) for h in sections):
                    bad.append(f"{rel}:{lineno}: no section {title!r} in docs/science.md (sections: {sections})")
    assert not bad, "\n".join(bad)


def test_no_paths_outside_the_repository():
    # the forbidden forms are assembled from pieces so that this checker does not quote them itself
    outside = ["/" + "work/", "shared" + "/docs", "/" + "home/\\w+"]
    pattern = re.compile("|".join([*outside, r"the brief\b", r"\bissue \d+"]), re.I)
    bad = []
    for path in _tracked_text_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel == "tests/test_docs.py":
            continue
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if pattern.search(line):
                bad.append(f"{rel}:{lineno}: {line.strip()[:120]}")
    assert not bad, "\n".join(bad)
