"""The documentation cannot rot: every ```toml block in README.md and docs/*.md, and
every examples/*.toml, is loaded by the real `hydrant check`; the metrics the
operations guide lists are the ones /metrics serves; the links between the docs
resolve. (That every configuration key in docs/operations.md exists, and every key
hydrant accepts is documented there, is checked against the code itself by
tests/unit/docs_test.cpp.)"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests

from support import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
EXAMPLE_CONFIGS = sorted((REPO / "examples").glob("*.toml"))


def markdown_files() -> list[Path]:
    """Every Markdown file of the repository (not of installed packages or builds)."""
    skip = {".git", ".cache", "node_modules", "__pycache__", ".pytest_cache"}
    found = []
    for top, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in skip and not (Path(top) == REPO and d.startswith("build"))]
        found += [Path(top) / f for f in files if f.endswith(".md")]
    return sorted(found)

_FENCE = re.compile(r"^```toml[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TLS = re.compile(r'^\s*(tls_cert|tls_key)\s*=\s*"([^"]*)"', re.M)

# What the ${VARIABLES} of the examples stand for; anything else gets a dummy secret.
VALUES = {
    "MONGODB_URI": "mongodb://127.0.0.1:27017",
    "HYDRANT_LISTEN": "127.0.0.1:8080",
    "HYDRANT_OUT_LISTEN": "127.0.0.1:8081",
    "CHANGES_URI": "mongodb://127.0.0.1:27018",
    "KINESIS_ENDPOINT": "https://kinesis.us-east-1.amazonaws.com",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "doc-test-secret",
}


def toml_blocks() -> list[tuple[str, str]]:
    blocks = []
    for doc in DOCS:
        for n, m in enumerate(_FENCE.finditer(doc.read_text()), 1):
            line = doc.read_text()[: m.start()].count("\n") + 1
            blocks.append((f"{doc.relative_to(REPO)}:{line}", m.group(1)))
    for cfg in EXAMPLE_CONFIGS:
        blocks.append((str(cfg.relative_to(REPO)), cfg.read_text()))
    return blocks


BLOCKS = toml_blocks()


def test_the_docs_have_toml_examples():
    names = {name.split(":")[0] for name, _ in BLOCKS}
    for doc in ("README.md", "docs/operations.md", "docs/deploy-firehose.md", "docs/segment.md",
                "examples/hydrant.toml"):
        assert doc in names, f"no ```toml example found in {doc}"


@pytest.mark.parametrize("name,text", BLOCKS, ids=[name for name, _ in BLOCKS])
def test_toml_example_passes_hydrant_check(name, text, run_cli, tmp_path):
    env = {}
    for var in _VAR.findall(text):
        env[var] = VALUES.get(var, f"doc-test-{var.lower()}")
    # TLS files: a ${VARIABLE} points at a dummy file made here; a relative path is made
    # in the working directory; an absolute path cannot be made, so the docs must not use one
    for key, value in _TLS.findall(text):
        m = _VAR.fullmatch(value)
        path = tmp_path / f"{key}.pem"
        if m:
            env[m.group(1)] = str(path)
        else:
            assert not Path(value).is_absolute(), (
                f"{name}: {key} = {value!r}: use a relative path or ${{VARIABLE}} so the example can be checked")
            path = tmp_path / value
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"dummy {key}\n")
    cfg = tmp_path / "example.toml"
    cfg.write_text(text)
    r = run_cli("check", "--config", str(cfg), env=env)
    assert r.returncode == 0 and "config OK" in r.stdout, (
        f"{name}: hydrant check failed (exit {r.returncode}):\n{r.stderr}\n--- the block:\n{text}")


def test_documented_metrics_are_the_served_ones(hydrant):
    """docs/operations.md lists exactly the metric families /metrics serves."""
    text = requests.get(hydrant.url("/metrics"), timeout=10).text
    served = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    assert served, text
    doc = (REPO / "docs" / "operations.md").read_text()
    section = doc.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(hydrant_[a-z_]+)` \|", section, re.M))
    assert documented == served, (
        f"served but not documented: {sorted(served - documented)}; "
        f"documented but not served: {sorted(documented - served)}")
    # and the README names every doc
    readme = (REPO / "README.md").read_text()
    for doc_path in sorted((REPO / "docs").glob("*.md")):
        assert f"(docs/{doc_path.name})" in readme, f"README.md does not link docs/{doc_path.name}"


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(md: str) -> set[str]:
    out = set()
    for h in re.findall(r"^#+ (.+)$", md, re.M):
        slug = re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


MARKDOWN = markdown_files()


@pytest.mark.parametrize("doc", MARKDOWN, ids=[str(d.relative_to(REPO)) for d in MARKDOWN])
def test_links_resolve(doc):
    """Every relative link of every Markdown file leads to a file of the repository
    (and to a heading of it, with #anchor): the repository is all its readers have."""
    text = doc.read_text()
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)  # not in code blocks
    broken = []
    for target in _LINK.findall(text):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        if REPO.resolve() not in dest.parents and dest != REPO.resolve():
            broken.append(f"{target} (outside the repository: a reader of it has nothing there)")
        elif not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest.read_text()):
            broken.append(target)
    assert not broken, f"{doc.relative_to(REPO)}: broken links {broken}"
