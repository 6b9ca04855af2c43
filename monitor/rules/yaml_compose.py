"""YAML text to a node tree with line/column marks: libyaml's C parser when present.

Reading rule files is dominated by composing the YAML: PyYAML's pure-Python scanner,
parser and composer take most of a start at 100,000 rules, libyaml's take a fraction.
Both keep a start and end mark (line, column, character index) on every node, which
is all the loader needs.

Errors must read the same whichever parser is present, and libyaml words some of
them differently or places them elsewhere, so any failure of the C parser is parsed
again in pure Python and that error is the one reported (errors are rare: the cost
does not matter). Inputs both accept compose to the same nodes.

Nesting is limited to :data:`MAX_YAML_DEPTH`: PyYAML's composer recurses per level
(a file nested a few hundred levels deep ends in a RecursionError), libyaml stops at
1,000 with its own message. A rule file needs seven levels.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent

MAX_YAML_DEPTH = 64

_C_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def _too_deep(mark: yaml.Mark | None) -> ComposerError:
    return ComposerError(
        None,
        None,
        f"nested more than {MAX_YAML_DEPTH} levels deep (a rule file needs 7)",
        mark,
    )


class _DepthLimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing to compose a node nested deeper than the limit."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            # An alias is not composed again: like the C path, count only written nesting.
            if self._depth > MAX_YAML_DEPTH and not self.check_event(AliasEvent):
                raise _too_deep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def compose_python(text: str) -> yaml.Node | None:
    """The node tree by PyYAML's pure-Python parser (raises :class:`yaml.YAMLError`)."""
    loader = _DepthLimitedLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def compose(text: str, *, use_c: bool = True) -> yaml.Node | None:
    """The node tree of ``text`` (None when empty); raises :class:`yaml.YAMLError`.

    ``use_c=False`` forces the pure-Python parser (tests compare the two).
    """
    if not use_c or _C_LOADER is None:
        return compose_python(text)
    try:
        loader = _C_LOADER(text)
        try:
            root: yaml.Node | None = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError:
        return compose_python(text)  # raises PyYAML's own error (or, rarely, succeeds)
    if root is not None and _too_deep_tree(root):
        return compose_python(text)  # raises the error at the place PyYAML gives
    return root


def _too_deep_tree(root: yaml.Node) -> bool:
    """Whether any node is nested deeper than the limit.

    Iterative, as the tree may be up to libyaml's 1,000 levels deep. Only collections
    are visited, each once (an alias is the very node it names).
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[yaml.Node]
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            continue
        if not children:
            continue
        if depth >= MAX_YAML_DEPTH:
            return True
        stack.extend(
            (child, depth + 1)
            for child in children
            if isinstance(child, yaml.SequenceNode | yaml.MappingNode)
        )
    return False
