"""libyaml's C parser and PyYAML's pure-Python one give the loader the same nodes and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.rules import load_rules
from monitor.rules.yaml_compose import compose
from tests.rules.corpus import REPO_ROOT
from tests.rules.test_docs import blocks

pytestmark = pytest.mark.skipif(
    getattr(yaml, "CSafeLoader", None) is None, reason="PyYAML built without libyaml"
)


def shape(node: yaml.Node | None) -> object:
    """Everything the loader reads of a node: kind, tag, value, style and marks."""
    if node is None:
        return None
    marks = (node.start_mark.index, node.start_mark.line, node.start_mark.column)
    end = (node.end_mark.index, node.end_mark.line, node.end_mark.column)
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, node.style or None, marks, end)
    if isinstance(node, yaml.SequenceNode):
        return ("seq", node.tag, [shape(n) for n in node.value], marks)
    assert isinstance(node, yaml.MappingNode)
    return ("map", node.tag, [(shape(k), shape(v)) for k, v in node.value], marks)


VALID = [
    *(
        p.read_text(encoding="utf-8")
        for p in sorted((REPO_ROOT / "monitor" / "data" / "rules").glob("*.yaml"))
    ),
    blocks("yaml")[0],
    "a: 'é€ and \U0001f600'\nb: \"tab\\there \\u00e9\"\nc: >-\n  folded\n  text\nd: |\n  lit\n",
    "a: &x [1, 2]\nb: *x\nc: ~\nd: null\ne: yes\n",
    "",
    "# only a comment\n",
]

INVALID = [
    "rules:\n  - id: x\n    title: [unclosed\n",
    "actors:\n  a: [@b]\n",
    "rules: [\n",
    "a: b: c\n",
    "a:\n\t- b\n",
    "a: 'unterminated\n",
    "- a\nb: c\n",
    "a: *nowhere\n",
    "--- a\n--- b\n",
    'a: "bad \\q escape"\n',
    "a: [" * 2000 + "]" * 2000 + "\n",
]


@pytest.mark.parametrize("text", VALID)
def test_same_nodes(text: str) -> None:
    assert shape(compose(text, use_c=True)) == shape(compose(text, use_c=False))


@pytest.mark.parametrize("text", INVALID)
def test_same_errors(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    fast = [str(e) for e in load_rules([path]).errors]
    monkeypatch.setattr("monitor.rules.yaml_compose._C_LOADER", None)
    slow = [str(e) for e in load_rules([path]).errors]
    assert fast == slow and fast
