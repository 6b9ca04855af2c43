"""Incremental reload: a RuleLoader's reload equals a full load, whatever the edits.

Random edits of a directory of rule files (queries changed, rules added and removed,
syntax and query errors, duplicate ids and sets across files, sets redefined and moved,
files deleted, renamed and added); after each, the loader's reload and a fresh
``load_rules`` must agree on everything: refusal, errors, warnings, version, rules,
sets, index statistics and every match with its hits.
"""

from __future__ import annotations

import gc
import random
import weakref
from pathlib import Path
from typing import Any

import pytest

from monitor.models import Article
from monitor.rules import LoadResult, RuleLoader, load_rules

WORDS = [
    "drone", "missile", "strike", "navy", "port", "oil", "tanker", "attack", "guard",
    "border", "talks", "sanctions", "embassy", "protest", "ceasefire", "convoy",
]  # fmt: skip
NAMES = ["Iran", "Tehran", "Israel", "Hezbollah", "Houthi", "Yemen", "Riyadh", "Gaza"]
TEMPLATES = [
    "{w} AND {w2}",
    "@{s} AND {w}",
    "{w} NEAR/3 {w2}",
    '"{n} {w}" OR {w2}*',
    "title:{w} NOT {w2}",
    "ATLEAST/2({w}, {w2}, @{s})",
    "({n} OR @{s}) ONEAR/4 {w}",
    "ATLEAST/2({w})",
    '"{n} {w} {w2}" OR "{n} {w}"',  # phrases sharing their first two words
]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Rules:
    """A directory of rule files kept as data, written out after each edit."""

    def __init__(self, root: Path, rnd: random.Random) -> None:
        self.root = root
        self.rnd = rnd
        self.next_id = 0
        # file name -> (sets: name -> entries, rules: [(id, query)], raw text appended)
        self.files: dict[str, tuple[dict[str, list[str]], list[tuple[str, str]], str]] = {}
        self.files["sets.yaml"] = ({f"s{i}": rnd.sample(NAMES, 3) for i in range(4)}, [], "")
        for n in range(4):
            self.files[f"r{n}.yaml"] = ({}, [self.rule() for _ in range(6)], "")

    def set_names(self) -> list[str]:
        return sorted({s for sets, _, _ in self.files.values() for s in sets} | {"s0"})

    def query(self) -> str:
        rnd = self.rnd
        w, w2 = rnd.sample(WORDS, 2)
        return rnd.choice(TEMPLATES).format(
            w=w, w2=w2, n=rnd.choice(NAMES), s=rnd.choice(self.set_names())
        )

    def rule(self) -> tuple[str, str]:
        self.next_id += 1
        return f"id{self.next_id}", self.query()

    def write(self) -> None:
        for path in self.root.glob("*.yaml"):
            if path.name not in self.files:
                path.unlink()
        for name, (sets, rules, raw) in self.files.items():
            lines = []
            if sets:
                lines.append("actors:")
                lines += [f"  {s}: [{', '.join(map(_quote, e))}]" for s, e in sets.items()]
            if rules:
                lines.append("rules:")
                for rid, query in rules:
                    lines += [
                        f"  - id: {rid}",
                        f"    title: {_quote('rule ' + rid)}",
                        f"    query: {_quote(query)}",
                        "    examples: {match: [x]}",
                    ]
            text = "\n".join(lines) + "\n" + raw
            path = self.root / name
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")

    def edit(self) -> str:
        """One random edit; returns what it was (for the assertion message)."""
        rnd = self.rnd
        names = sorted(self.files)
        name = rnd.choice(names)
        sets, rules, raw = self.files[name]
        kind = rnd.choice(
            [
                "query", "query", "add", "remove", "yaml_error", "query_error", "fix",
                "duplicate_id", "redefine_set", "change_set", "move_set", "delete",
                "rename", "new_file", "unknown_set",
            ]
        )  # fmt: skip
        if kind == "query" and rules:
            i = rnd.randrange(len(rules))
            rules[i] = (rules[i][0], self.query())
        elif kind == "add":
            rules.insert(rnd.randrange(len(rules) + 1), self.rule())
        elif kind == "remove" and rules:
            rules.pop(rnd.randrange(len(rules)))
        elif kind == "yaml_error":
            self.files[name] = (sets, rules, raw + "rules: [oops\n")
        elif kind == "query_error" and rules:
            i = rnd.randrange(len(rules))
            rules[i] = (rules[i][0], rules[i][1] + " AND (")
        elif kind == "fix":
            self.files[name] = (sets, [r for r in rules if not r[1].endswith("(")], "")
        elif kind == "duplicate_id":
            other = [r for n in names for r in self.files[n][1]]
            if other:
                rules.append((rnd.choice(other)[0], self.query()))
        elif kind == "redefine_set":
            sets[rnd.choice(self.set_names())] = rnd.sample(NAMES, 2)
        elif kind == "change_set":
            owner = [n for n in names if self.files[n][0]]
            if owner:
                owned = self.files[rnd.choice(owner)][0]
                owned[rnd.choice(sorted(owned))] = rnd.sample(NAMES, rnd.randint(1, 4))
        elif kind == "move_set":
            owner = [n for n in names if self.files[n][0]]
            if owner:
                owned = self.files[rnd.choice(owner)][0]
                moved = rnd.choice(sorted(owned))
                sets[moved] = owned.pop(moved)
        elif kind == "delete" and len(names) > 1:
            del self.files[name]
        elif kind == "rename":
            new = f"z{rnd.randrange(1000)}-{name}"
            self.files[new] = self.files.pop(name)
        elif kind == "new_file":
            self.files[f"n{rnd.randrange(1000)}.yaml"] = ({}, [self.rule() for _ in range(3)], "")
        elif kind == "unknown_set" and rules:
            rules.append((f"u{self.next_id}", f"@nosuch{rnd.randrange(3)} AND drone"))
            self.next_id += 1
        return f"{kind} in {name}"


def articles(rnd: random.Random, n: int = 40) -> list[Article]:
    out = []
    for i in range(n):
        words = [rnd.choice(WORDS + NAMES) for _ in range(rnd.randint(3, 30))]
        title = " ".join(words[:4])
        out.append(Article(f"a{i}", "feed", title, None, None, content=" ".join(words[4:])))
    return out


def observed(result: LoadResult, sample: list[Article]) -> dict[str, Any]:
    """Everything a caller can see of a load."""
    seen: dict[str, Any] = {
        "errors": [str(e) for e in result.errors],
        "warnings": [str(w) for w in result.warnings],
    }
    rs = result.ruleset
    if rs is not None:
        seen["version"] = rs.version
        seen["rules"] = rs.rules
        seen["sets"] = dict(rs.sets)
        seen["stats"] = rs.stats()
        seen["matches"] = [[(m.rule.id, m.hits) for m in rs.match(a)] for a in sample]
    return seen


@pytest.mark.parametrize("seed", range(8))
def test_incremental_reload_equals_full_load(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    rules = Rules(tmp_path, rnd)
    rules.write()
    sample = articles(rnd)
    loader = RuleLoader([tmp_path])
    first = loader.load()
    assert first.ok, first.errors
    assert observed(first, sample) == observed(load_rules([tmp_path]), sample)
    edits = []
    for _ in range(25):
        edits.append(rules.edit())
        rules.write()
        again = loader.load()
        full = load_rules([tmp_path])
        assert observed(again, sample) == observed(full, sample), edits


def test_reload_recompiles_only_what_changed(tmp_path: Path) -> None:
    (tmp_path / "sets.yaml").write_text("actors:\n  iran: [Iran, Tehran]\n  gulf: [Oman]\n")
    (tmp_path / "a.yaml").write_text(
        "rules:\n  - {id: a1, title: A1, query: '@iran AND drone', examples: {match: [x]}}\n"
        "  - {id: a2, title: A2, query: '@gulf AND tanker', examples: {match: [x]}}\n"
    )
    (tmp_path / "b.yaml").write_text(
        "rules:\n  - {id: b1, title: B1, query: 'missile', examples: {match: [x]}}\n"
    )
    loader = RuleLoader([tmp_path])
    first = loader.load().ruleset
    assert first is not None

    (tmp_path / "b.yaml").write_text(
        "rules:\n  - {id: b1, title: B1, query: 'missile*', examples: {match: [x]}}\n"
    )
    second = loader.load().ruleset
    assert second is not None and second.version != first.version
    assert second.get("a1") is first.get("a1") and second.get("a2") is first.get("a2")
    assert second.get("b1") is not first.get("b1")

    (tmp_path / "sets.yaml").write_text("actors:\n  iran: [Iran, Tehran, Persia]\n  gulf: [Oman]\n")
    third = loader.load().ruleset
    assert third is not None
    assert third.get("a1") is not second.get("a1")  # names the changed set
    assert third.get("a2") is second.get("a2") and third.get("b1") is second.get("b1")
    article = Article("x", "feed", "Persia drone", None, None, content="")
    assert [m.rule.id for m in third.match(article)] == ["a1"]
    assert [m.rule.id for m in second.match(article)] == []  # the old set is untouched


def test_refused_reload_keeps_nothing_half_done(tmp_path: Path) -> None:
    """A reload with an error anywhere is refused; the next good one equals a full load."""
    for n in range(20):
        (tmp_path / f"r{n:02d}.yaml").write_text(
            "rules:\n"
            + "".join(
                f"  - {{id: r{n}-{i}, title: T, query: 'drone AND w{i}',"
                " examples: {match: [x]}}\n"
                for i in range(20)
            )
        )
    loader = RuleLoader([tmp_path])
    assert loader.load().ok
    (tmp_path / "r07.yaml").write_text("rules:\n  - {id: bad, query: [unclosed\n")
    (tmp_path / "r08.yaml").unlink()
    refused = loader.load()
    assert refused.ruleset is None
    assert refused.errors and {e.path for e in refused.errors} == {str(tmp_path / "r07.yaml")}
    assert [str(e) for e in refused.errors] == [str(e) for e in load_rules([tmp_path]).errors]
    (tmp_path / "r07.yaml").write_text(
        "rules:\n  - {id: fixed, title: T, query: 'drone', examples: {match: [x]}}\n"
    )
    sample = [Article("a", "feed", "drone w3", None, None, content="w19 drone")]
    assert observed(loader.load(), sample) == observed(load_rules([tmp_path]), sample)


def test_replaced_rule_set_is_freed_without_the_cyclic_collector(tmp_path: Path) -> None:
    """The first load freezes the heap (gc.freeze): a rule set must hold no reference
    cycles, or replaced ones would never be freed."""
    path = tmp_path / "r.yaml"
    path.write_text("rules:\n  - {id: a, title: A, query: '@s AND drone', examples: {match: [x]}}\n"
                    "actors:\n  s: [Iran]\n")  # fmt: skip
    loader = RuleLoader([tmp_path])
    first = loader.load().ruleset
    assert first is not None
    first.match(Article("x", "feed", "Iran drone", None, None, content="drone strike"))
    gone = weakref.ref(first)
    del first
    path.write_text(path.read_text().replace("drone", "missile"))
    enabled = gc.isenabled()
    gc.disable()
    try:
        second = loader.load().ruleset
        assert second is not None and gone() is None
    finally:
        if enabled:
            gc.enable()
