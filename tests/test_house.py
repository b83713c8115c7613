"""The house rules a newcomer relies on, held by tests: a user's README, docs
that match the code, no import cycles, modules of a readable size."""

import ast
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "gridtsne")


def _modules():
    """{dotted name: path} of every module of the package."""
    out = {}
    for folder, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                out[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return out


def import_graph():
    """{module: modules of the package it imports}, deferred imports (inside
    functions) included."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                for a in node.names:
                    deps.add(base + "." + a.name if base + "." + a.name in modules else base)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_package_has_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_is_over_500_lines():
    long = {name: n for name, path in _modules().items()
            if (n := sum(1 for _ in open(path))) > 500}
    assert long == {}


def test_no_panel_source_file_is_over_450_lines():
    src = os.path.join(REPO, "js", "src")
    long = {name: n for name in os.listdir(src)
            if (n := sum(1 for _ in open(os.path.join(src, name)))) > 450}
    assert long == {}


def test_options_doc_is_generated_from_the_config():
    proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "options_doc.py"),
                           "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = open(os.path.join(REPO, "docs", "options.md")).read()
    from gridtsne import config

    for name, _, meta in config.options():
        assert "`%s`" % name in text and meta["help"] in text


DOCS = ["README.md"] + ["docs/" + n for n in sorted(os.listdir(os.path.join(REPO, "docs")))
                        if n.endswith(".md")]


def test_the_readme_is_a_users_page():
    lines = open(os.path.join(REPO, "README.md")).read().splitlines()
    assert len(lines) <= 300
    for needed in ("## Install", "make test", "gridtsne IMAGES_DIR", "compute_grid"):
        assert any(needed in line for line in lines), needed


@pytest.mark.parametrize("page", DOCS)
def test_docs_link_only_inside_the_repository_and_tell_no_history(page):
    text = open(os.path.join(REPO, page)).read()
    assert "../shared" not in text and "/work/" not in text
    assert not re.search(r"\bstop \d+\b|\btoday\b|\byesterday\b", text, re.I)
    folder = os.path.dirname(os.path.join(REPO, page))
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        assert os.path.exists(os.path.normpath(os.path.join(folder, target))), target


def test_the_plugin_is_named_once_as_fiftyone_yml_names_it():
    from gridtsne.fo import uris

    manifest = open(os.path.join(REPO, "fiftyone.yml")).read()
    assert re.search(r'^name:\s*"?%s"?\s*$' % re.escape(uris.PLUGIN), manifest, re.M)
    spelled = [path for name, path in _modules().items() if name != "gridtsne.fo.uris"
               and uris.PLUGIN in open(path).read()]
    assert spelled == []
