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

import operator
import re
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent

MAX_YAML_DEPTH = 64

_C_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", None)
_SCALAR_TAG = yaml.SafeLoader.DEFAULT_SCALAR_TAG
_SEQUENCE_TAG = yaml.SafeLoader.DEFAULT_SEQUENCE_TAG
_MAPPING_TAG = yaml.SafeLoader.DEFAULT_MAPPING_TAG


def _resolve(self: Any, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
    """The tag of a node, as the safe loader's resolver gives it, in fewer steps.

    The C composer calls this once per node (1.4 million times at 100,000 rules); the
    safe loader has no path resolvers nor wildcard implicit ones, so only the implicit
    resolvers of the value's first character are tried, for plain scalars.
    """
    if kind is yaml.ScalarNode:
        if implicit[0]:
            resolvers: list[tuple[str, re.Pattern[str]]]
            resolvers = yaml.SafeLoader.yaml_implicit_resolvers.get(value[:1], [])
            for tag, regexp in resolvers:
                if regexp.match(value):
                    return tag
        return _SCALAR_TAG
    return _SEQUENCE_TAG if kind is yaml.SequenceNode else _MAPPING_TAG


_C_LOADER: Any = (
    None
    if _C_SAFE_LOADER is None
    or yaml.SafeLoader.yaml_path_resolvers
    or None in yaml.SafeLoader.yaml_implicit_resolvers
    else type(
        "_FastCSafeLoader",
        (_C_SAFE_LOADER,),
        {
            "resolve": _resolve,
            # Without path resolvers (checked above) the composer's calls to descend into
            # and ascend from each collection do nothing: C built-ins stand in for the
            # Python no-ops (860,000 calls at 100,000 rules); the results are ignored.
            "descend_resolver": staticmethod(operator.is_),  # called as (parent, index)
            "ascend_resolver": staticmethod(tuple),  # called with no arguments
        },
    )
)


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
    """Whether any collection with items is nested deeper than the limit.

    Level by level, as the tree may be up to libyaml's 1,000 levels deep. Only
    collections are visited, each once (an alias is the very node it names).
    """
    seen: set[int] = set()
    level = [root]
    depth = 1
    scalar, sequence = yaml.ScalarNode, yaml.SequenceNode
    while level:
        deeper: list[yaml.Node] = []
        for node in level:
            if type(node) is scalar or id(node) in seen:
                continue
            seen.add(id(node))
            items = node.value
            if not items:
                continue
            if depth >= MAX_YAML_DEPTH:
                return True
            if type(node) is sequence:
                deeper += items
            else:
                for pair in items:
                    deeper += pair
        level = deeper
        depth += 1
    return False
