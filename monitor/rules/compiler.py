"""From rule and set specs to a :class:`RuleSet`, reporting every error and warning found.

Errors (the rule set is refused): unknown or cyclic sets, duplicate ids or sets,
query syntax, bad fields, unknown channels or digests, a query with no positive term.
Warnings (legal but likely wrong): unused sets, duplicated entries, broad prefixes,
rules without examples, lower-case operators.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import attrgetter
from typing import NamedTuple

from monitor.models import FIELDS, Rule
from monitor.rules.common_words import COMMON_WORDS
from monitor.rules.diagnostics import Diagnostic, Located, did_you_mean
from monitor.rules.index import Index, IndexEntry, Vocabulary
from monitor.rules.nodes import (
    CAnd,
    CAtLeast,
    CCount,
    CField,
    CFieldPositional,
    CNear,
    CNode,
    CNot,
    COr,
    CSet,
    CTerm,
    Positional,
)
from monitor.rules.query import (
    AndNode,
    AtLeastNode,
    FieldNode,
    NearNode,
    Node,
    NotNode,
    OrNode,
    QueryError,
    SetNode,
    TermNode,
    parse_query,
)
from monitor.rules.ruleset import CompiledRule, FeedFilter, RuleSet, RuleTable
from monitor.rules.spec import RuleSpec, SetSpec
from monitor.rules.terms import Phrase, TermError, parse_phrase

MAX_SET_DEPTH = 64  # sets including sets including sets…
_INFLECTIONS = ("s", "es", "ed", "d", "ing", "er", "ers", "ion", "ions", "ly", "ies", "ied")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """A rule set, or None when there is any error; all errors and warnings either way."""

    ruleset: RuleSet | None
    errors: tuple[Diagnostic, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.ruleset is not None


@dataclass(frozen=True, slots=True)
class SetEntry:
    """One searchable entry of a set after nested sets are expanded."""

    text: str
    phrase: Phrase


@dataclass(slots=True)
class _Report:
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)


def compile_rules(
    sets: Sequence[SetSpec],
    rules: Sequence[RuleSpec],
    *,
    channels: Collection[str] | None = None,
    digests: Collection[str] | None = None,
    lint: bool = True,
) -> LoadResult:
    """Compile specs into one indexed :class:`RuleSet`; never raises for bad input."""
    source = Source("<specs>", None, tuple(sets), tuple(rules))
    return Compiler(channels=channels, digests=digests, lint=lint).compile([source])


@dataclass(frozen=True, slots=True)
class Source:
    """The sets and rules of one rule file (or of specs given directly), in order.

    ``digest`` identifies the content (None: unknown, never reused). ``errors`` and
    ``warnings``: what reading it found.
    """

    name: str
    digest: bytes | None
    sets: tuple[SetSpec, ...]
    rules: tuple[RuleSpec, ...]
    errors: tuple[Diagnostic, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()


_NO_NAMES: frozenset[str] = frozenset()


class _Unit(NamedTuple):
    """One rule compiled: everything a later compilation needs to reuse it."""

    spec: RuleSpec
    compiled: CompiledRule | None  # None: it has errors
    entry: IndexEntry | None
    refs: frozenset[str]  # the sets its query names, known or not
    used: frozenset[str]  # the known ones
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]
    lint: Diagnostic | None  # "no examples" (not given for a duplicate rule)


class _SourceUnits:
    """The compiled rules of one source, and what a compilation needs of all of them."""

    __slots__ = (
        "canonical", "compiled", "entries", "errors", "ids", "in_order", "keys", "rules", "sid",
        "source", "units", "used", "warnings",
    )  # fmt: skip

    def __init__(
        self, sid: int, source: Source, units: list[_Unit], canonical: str, lint: bool
    ) -> None:
        self.sid = sid  # unique among the sources of one compiler
        self.source = source
        self.units = units
        self.canonical = canonical  # its rules in the version's JSON, without the brackets
        self.ids = [u.spec.id for u in units]
        self.errors = list(chain.from_iterable(u.errors for u in units))
        self.warnings: list[Diagnostic] = []
        for u in units:
            self.warnings += u.warnings
            if lint and u.lint is not None:
                self.warnings.append(u.lint)
        self.used = frozenset(chain.from_iterable(u.used for u in units))
        self.compiled = [u.compiled for u in units]
        # When it has no errors: its rules' keys and index entries
        self.keys = [u.entry.key for u in units if u.entry is not None]
        self.entries = [u.entry for u in units if u.entry is not None]
        self.in_order = self.keys == sorted(self.keys)
        self.rules = tuple(c.rule for c in self.compiled if c is not None)


@dataclass(slots=True)
class _Sets:
    """The sets of all sources resolved, with what resolving them reported."""

    signature: tuple[tuple[str, bytes | None], ...]
    resolved: dict[str, tuple[SetEntry, ...]]
    references: dict[str, set[str]]
    specs: tuple[SetSpec, ...]
    report: _Report
    canonical: str
    flat: dict[str, tuple[str, ...]]  # set name -> its entries as written


class Compiler:
    """Compiles sources into rule sets; compiling again reuses what did not change.

    A source whose digest is unchanged keeps its compiled rules, except those that name a
    set whose entries changed; the index of the last good rule set is updated by the
    rules removed and added, not rebuilt. The result equals compiling from scratch
    (tests compare the two). Not thread-safe: one compilation at a time.
    """

    def __init__(
        self,
        *,
        channels: Collection[str] | None = None,
        digests: Collection[str] | None = None,
        lint: bool = True,
    ) -> None:
        self.channels = channels
        self.digests = digests
        self.lint = lint
        self._reset()

    def _reset(self) -> None:
        self.vocabulary = Vocabulary()
        self.shared = _Shared()
        self._sources: dict[str, _SourceUnits] = {}
        self._sets: _Sets | None = None
        self._next_key = 0
        self._next_sid = 0
        # The last good rule set's index, sources (by sid) and rule table:
        self._index = Index()
        self._indexed: dict[int, _SourceUnits] = {}
        self._table: RuleTable | None = None

    def compile(self, sources: Sequence[Source], errors: Sequence[Diagnostic] = ()) -> LoadResult:
        """One rule set of all ``sources``, in order (``errors``: found before compiling).

        Never raises for bad input; if compiling itself fails, what was kept from earlier
        compilations is dropped, so the next one starts afresh.
        """
        # Compiling allocates millions of small objects that all live on: the cyclic garbage
        # collector would traverse the growing heap again and again (half the time at
        # 100,000 rules) and find nothing to free.
        enabled = gc.isenabled()
        gc.disable()
        try:
            if len(self.vocabulary.phrases) > 2 * self._index.phrases_in_use + 100_000:
                self._reset()  # mostly phrases no rule uses any more: start afresh
            return self._compile(sources, errors)
        except BaseException:
            self._reset()
            raise
        finally:
            if enabled:
                gc.enable()

    def _compile(self, sources: Sequence[Source], errors: Sequence[Diagnostic]) -> LoadResult:
        changed, renamed = self._resolve(sources)
        sets = self._sets
        assert sets is not None

        def stale(u: _Unit) -> bool:
            # It names a set whose entries changed, or an unknown set (the error's "did
            # you mean" depends on every set's name) when names came or went.
            return not u.refs.isdisjoint(changed) or (renamed and u.refs != u.used)

        compiled_sources: dict[str, _SourceUnits] = {}
        for source in sources:
            old = self._sources.get(source.name)
            if old is not None and source.digest is not None and old.source.digest == source.digest:
                if (changed or renamed) and any(map(stale, old.units)):
                    units = [self._unit(u.spec) if stale(u) else u for u in old.units]
                    old = self._source_units(old.source, units, old.canonical)
            else:
                units = [self._unit(spec) for spec in source.rules]
                old = self._source_units(source, units, _canonical(source.rules))
            compiled_sources[source.name] = old
        self._sources = compiled_sources
        ordered = [compiled_sources[s.name] for s in sources]
        report = _Report(list(errors) + sets.report.errors, list(sets.report.warnings))
        for c in ordered:
            report.errors.extend(c.source.errors)
            report.warnings.extend(c.source.warnings)
        ids = list(chain.from_iterable(c.ids for c in ordered))
        if len(set(ids)) == len(ids):
            for c in ordered:
                report.errors.extend(c.errors)
                report.warnings.extend(c.warnings)
        else:
            self._report_duplicates(ordered, report)
        if self.lint:
            used = set().union(*(c.used for c in ordered))
            _warn_unused_sets(sets.specs, sets.references, used, report)
        version = _version_of(sets.canonical, [c.canonical for c in ordered])
        if report.errors:
            return LoadResult(None, _sorted(report.errors), _sorted(report.warnings))
        table = self._update(ordered)
        ruleset = RuleSet((), self._index, sets.flat, version, table=table)
        return LoadResult(ruleset, (), _sorted(report.warnings))

    def _source_units(self, source: Source, units: list[_Unit], canonical: str) -> _SourceUnits:
        self._next_sid += 1
        return _SourceUnits(self._next_sid, source, units, canonical, self.lint)

    def _report_duplicates(self, ordered: Sequence[_SourceUnits], report: _Report) -> None:
        """Every rule's errors and warnings, and an error for each rule whose id an earlier
        rule has (its "no examples" warning is left out: it is not compiled)."""
        seen: dict[str, Located] = {}
        for c in ordered:
            for u in c.units:
                spec = u.spec
                duplicate = spec.id in seen
                if duplicate:
                    report.errors.append(
                        spec.where.error(
                            f"duplicate rule id {spec.id} (also defined at {seen[spec.id]}):"
                            " rule ids must be unique across all files"
                        )
                    )
                else:
                    seen[spec.id] = spec.where
                report.errors.extend(u.errors)
                report.warnings.extend(u.warnings)
                if self.lint and u.lint is not None and not duplicate:
                    report.warnings.append(u.lint)

    def _update(self, ordered: Sequence[_SourceUnits]) -> RuleTable:
        """Update the index and the rule table from the last good rule set's sources to
        ``ordered``: by the sources removed and added, in proportion to their rules."""
        now = {c.sid: c for c in ordered}
        before = self._indexed
        removed = [c for sid, c in before.items() if sid not in now]
        added = [c for sid, c in now.items() if sid not in before]
        if removed or added or not before:
            remove = list(chain.from_iterable(c.entries for c in removed))
            add = list(chain.from_iterable(c.entries for c in added))
            self._index = self._index.updated(self.vocabulary, remove, add)
        self._indexed = now
        table = self._table
        if table is None or len(removed) + len(added) > len(ordered):
            keys = list(chain.from_iterable(c.keys for c in ordered))
            compiled = list(chain.from_iterable(c.compiled for c in ordered))
            by_key = dict(zip(keys, compiled, strict=True))
            by_id = dict(zip(chain.from_iterable(c.ids for c in ordered), compiled, strict=True))
            place: dict[int, tuple[int, int]] = {}
            added = list(ordered)
        else:
            by_key, by_id, place = dict(table.by_key), dict(table.by_id), dict(table.place)
            for c in removed:
                for key in c.keys:
                    del by_key[key], place[key]
                for rule_id in c.ids:
                    del by_id[rule_id]
            for c in added:
                by_key.update(zip(c.keys, c.compiled, strict=True))
                by_id.update(zip(c.ids, c.compiled, strict=True))
        for c in added:
            place.update(zip(c.keys, zip(repeat(c.sid), range(len(c.keys))), strict=True))
        in_order, last = True, -1
        for c in ordered:
            if c.keys:
                in_order = in_order and c.in_order and c.keys[0] > last
                last = c.keys[-1]
        source_rank = None if in_order else {c.sid: i for i, c in enumerate(ordered)}
        rules = tuple(chain.from_iterable(c.rules for c in ordered))
        self._table = RuleTable(by_key, by_id, rules, place, source_rank)  # type: ignore[arg-type]
        return self._table

    def _resolve(self, sources: Sequence[Source]) -> tuple[frozenset[str], bool]:
        """Resolve the sets unless no source of sets changed.

        Returns the names of the sets whose entries changed (or that came or went), and
        whether the names of the sets changed.
        """
        signature = tuple((s.name, s.digest) for s in sources if s.sets)
        old = self._sets
        digests = [d for _, d in signature]
        if old is not None and old.signature == signature and None not in digests:
            return frozenset(), False
        specs = tuple(chain.from_iterable(s.sets for s in sources))
        report = _Report()
        resolved, references = _resolve_sets(specs, report)
        canonical = json.dumps(
            sorted((s.name, [e.text for e in s.entries]) for s in specs), ensure_ascii=False
        )
        flat = {name: tuple(e.text for e in entries) for name, entries in resolved.items()}
        self._sets = _Sets(signature, resolved, references, specs, report, canonical, flat)
        if old is None:
            return frozenset(), False
        before, after = old.resolved, resolved
        changed = frozenset(
            name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
        )
        for key in [k for k in self.shared.sets if k[0] in changed]:
            del self.shared.sets[key]
        return changed, before.keys() != after.keys()

    def _unit(self, spec: RuleSpec) -> _Unit:
        """Compile one rule against the current sets."""
        sets = self._sets
        assert sets is not None
        report = _Report()
        _check_delivery(spec, self.channels, self.digests, report)
        compiler = _RuleCompiler(spec, sets.resolved, self.vocabulary, report, self.shared)
        root = compiler.compile()
        compiled = entry = lint = None
        if root is not None:
            key = self._next_key
            self._next_key += 1
            anchors, also = compiler.anchors
            entry = IndexEntry(key, frozenset(compiler.leaves), anchors, also)
            compiled = CompiledRule(_rule_of(spec), root, spec.examples, FeedFilter.of(spec.feeds))
            if self.lint and not spec.examples and not spec.has_errors:
                lint = spec.where.warning(
                    f"rule {spec.id} has no examples: add examples: {{match: [...], no_match:"
                    " [...]} so `monitor rules test` can check it"
                )
        return _Unit(
            spec,
            compiled,
            entry,
            frozenset(compiler.refs) if compiler.refs else _NO_NAMES,
            frozenset(compiler.used_sets) if compiler.used_sets else _NO_NAMES,
            tuple(report.errors) if report.errors else (),
            tuple(report.warnings) if report.warnings else (),
            lint,
        )


def _sorted(diags: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(diags, key=lambda d: (d.path, d.line, d.column)))


def _rule_of(spec: RuleSpec) -> Rule:
    return Rule(
        id=spec.id,
        title=spec.title,
        severity=spec.severity,
        query=spec.query,
        fields=spec.fields,
        notify=spec.notify,
        schedule=spec.schedule,
        cooldown=spec.cooldown,
        source=f"{spec.where.path}:{spec.where.line}",
        feeds=spec.feeds,
        surge=spec.surge,
    )


def _canonical(rules: Sequence[RuleSpec]) -> str:
    """What the rules mean (not comments or file layout), as JSON without the brackets."""
    return json.dumps(
        [
            [
                r.id,
                r.title,
                r.query,
                r.severity,
                list(r.fields),
                list(r.notify),
                r.schedule,
                r.cooldown.total_seconds() if r.cooldown else None,
                *([list(r.feeds)] if r.feeds else []),  # versions of rules without stay put
                *(
                    [{"surge": [r.surge.sources, r.surge.within.total_seconds()]}]
                    if r.surge
                    else []
                ),
            ]
            for r in rules
        ],
        ensure_ascii=False,
    )[1:-1]


def _version_of(sets: str, rules: Sequence[str]) -> str:
    """A short hash of what the sets and rules mean, from their canonical JSON.

    The JSON is ``{"rules": [...], "sets": [...]}`` as ``json.dumps(..., sort_keys=True)``
    writes it, assembled from the per-file parts so a reload need not encode every rule.
    """
    blob = '{"rules": [' + ", ".join(r for r in rules if r) + '], "sets": ' + sets + "}"
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _check_delivery(
    spec: RuleSpec,
    channels: Collection[str] | None,
    digests: Collection[str] | None,
    report: _Report,
) -> None:
    if channels is not None:
        for i, name in enumerate(spec.notify):
            if name not in channels:
                where = spec.notify_where[i] if i < len(spec.notify_where) else spec.where
                known = ", ".join(sorted(channels)) or "none configured"
                report.errors.append(
                    where.error(
                        f"unknown channel {name}{did_you_mean(name, channels)}"
                        f" (configured channels: {known})"
                    )
                )
    if digests is not None and spec.schedule != "immediate" and spec.schedule not in digests:
        known = ", ".join(sorted(digests)) or "none configured"
        report.errors.append(
            spec.schedule_where.error(
                f"unknown digest {spec.schedule}{did_you_mean(spec.schedule, digests)}:"
                f" schedule is immediate or a configured digest ({known})"
            )
        )


# --------------------------------------------------------------------------- sets


def _resolve_sets(
    sets: Sequence[SetSpec], report: _Report
) -> tuple[dict[str, tuple[SetEntry, ...]], dict[str, set[str]]]:
    """Expand nested sets; return the flat entries per set and the references between sets."""
    by_name: dict[str, SetSpec] = {}
    for s in sets:
        if s.name in by_name:
            first = by_name[s.name]
            report.errors.append(
                s.where.error(
                    f"duplicate set {s.name} (first defined under {first.kind}: at {first.where}):"
                    " actor and keyword sets share one namespace; rename one"
                )
            )
            continue
        by_name[s.name] = s
    direct: dict[str, list[SetEntry]] = {}
    refs: dict[str, list[tuple[str, Located]]] = {}
    for s in by_name.values():
        entries: list[SetEntry] = []
        links: list[tuple[str, Located]] = []
        seen: dict[Phrase, str] = {}
        for entry in s.entries:
            text = entry.text.strip()
            if text.startswith("@"):
                name = text[1:]
                if name not in by_name:
                    report.errors.append(
                        entry.where.error(
                            f"unknown set @{name}{_suggest_set(name, by_name)} in set {s.name}"
                        )
                    )
                else:
                    links.append((name, entry.where))
                continue
            try:
                phrase = entry_phrase(text)
            except TermError as exc:
                report.errors.append(entry.where.error(f"in set {s.name}: {exc.message}"))
                continue
            if phrase in seen:
                report.warnings.append(
                    entry.where.warning(
                        f"duplicated entry {text!r} in set {s.name} (same words as"
                        f" {seen[phrase]!r}): remove one"
                    )
                )
                continue
            seen[phrase] = text
            entries.append(SetEntry(text, phrase))
            _warn_broad_prefix(phrase, text, entry.where, report)
        direct[s.name] = entries
        refs[s.name] = links
    resolved: dict[str, tuple[SetEntry, ...]] = {}
    reported_cycles: set[frozenset[str]] = set()
    too_deep: list[str] = []

    def expand(name: str, path: list[str]) -> tuple[SetEntry, ...]:
        done = resolved.get(name)
        if done is not None:
            return done
        out: dict[Phrase, SetEntry] = {e.phrase: e for e in direct[name]}
        for target, where in refs[name]:
            if target in path or target == name:
                cycle = (
                    [*path[path.index(target) :], name, target] if target in path else [name, name]
                )
                key = frozenset(cycle)
                if key not in reported_cycles:
                    reported_cycles.add(key)
                    report.errors.append(
                        where.error(
                            "set cycle: "
                            + " → ".join("@" + c for c in cycle)
                            + ": a set cannot contain itself; remove one of these references"
                        )
                    )
                continue
            if len(path) + 1 >= MAX_SET_DEPTH:  # expanding recurses once per level
                if not too_deep:
                    too_deep.append(name)
                    report.errors.append(
                        where.error(
                            f"sets include each other more than {MAX_SET_DEPTH} levels deep"
                            f" (@{path[0]} → @{path[1]} → … → @{name} → @{target}):"
                            " include the entries more directly"
                        )
                    )
                continue
            for e in expand(target, [*path, name]):
                out.setdefault(e.phrase, e)
        result = tuple(out.values())
        resolved[name] = result
        return result

    for name in direct:
        expand(name, [])
    references = {name: {t for t, _ in links} for name, links in refs.items()}
    return resolved, references


def entry_phrase(text: str) -> Phrase:
    """The phrase a set entry stands for (``{…}`` makes it case-sensitive)."""
    if text.startswith("{"):
        if not text.endswith("}"):
            raise TermError("unterminated {: an exact entry is written {Patriot}", 0)
        inner = text[1:-1].strip()
        if len(inner) >= 2 and inner[0] == inner[-1] == '"':
            inner = inner[1:-1]
        return parse_phrase(inner, exact=True)
    return parse_phrase(text)


def _warn_broad_prefix(phrase: Phrase, text: str, where: Located, report: _Report) -> None:
    for word in phrase.words:
        if not word.prefix or word.exact:
            continue
        p = word.text
        others = sorted(
            w
            for w in COMMON_WORDS
            if w.startswith(p) and w != p and w[len(p) :] not in _INFLECTIONS
        )
        if len(others) >= 2:
            report.warnings.append(
                where.warning(
                    f"prefix {p}* also matches common words ({', '.join(others[:4])}):"
                    " use a longer prefix or list the word forms"
                )
            )


def _warn_unused_sets(
    sets: Sequence[SetSpec], references: dict[str, set[str]], used: set[str], report: _Report
) -> None:
    reachable: set[str] = set()
    todo = list(used)
    while todo:
        name = todo.pop()
        if name in reachable:
            continue
        reachable.add(name)
        todo.extend(references.get(name, ()))
    reported: set[str] = set()
    for s in sets:
        if s.name not in reachable and s.name not in reported:
            reported.add(s.name)
            report.warnings.append(
                s.where.warning(
                    f"set {s.name} is never used by any rule: use @{s.name} or remove it"
                )
            )


# --------------------------------------------------------------------------- queries


@functools.lru_cache(maxsize=262144)
def term_weight(phrase: Phrase) -> float:
    """A rough chance that the phrase occurs in an article: rarer phrases anchor rules."""
    weights = []
    for word in phrase.words:
        w = 0.5 if word.text.lower() in COMMON_WORDS else 0.4 / max(len(word.text), 2)
        if word.prefix:
            w = min(1.0, w * (6 if len(word.text) <= 4 else 3))
        weights.append(w)
    return min(weights) * (0.3 ** (len(weights) - 1))


@dataclass(slots=True)
class _Compiled:
    node: CNode
    anchors: frozenset[int] | None  # None: can hold with no positive term occurring
    weight: float  # estimated chance of being true
    also: tuple[frozenset[int], ...] = ()  # further anchor sets that must also occur
    aw: float = float("inf")  # the anchors' weight (see anchor_weight)


@functools.lru_cache(maxsize=64)
def _field_mask(fields: tuple[str, ...]) -> int:
    return sum(1 << FIELDS.index(f) for f in fields)


_WEIGHT = attrgetter("weight")
_AW = attrgetter("aw")


@dataclass(slots=True)
class _Shared:
    """What rules compile alike, compiled once per rule set (nodes are immutable)."""

    terms: dict[tuple[str, str | None, int, str], _Compiled] = field(default_factory=dict)
    sets: dict[tuple[str, int], _Compiled] = field(default_factory=dict)
    anchor_weights: dict[frozenset[int], float] = field(default_factory=dict)


class _RuleCompiler:
    def __init__(
        self,
        spec: RuleSpec,
        sets: dict[str, tuple[SetEntry, ...]],
        vocabulary: Vocabulary,
        report: _Report,
        shared: _Shared,
    ) -> None:
        self.shared = shared
        self.spec = spec
        self.sets = sets
        self.vocabulary = vocabulary
        self.report = report
        self.used_sets: set[str] = set()
        self.refs: set[str] = set()  # every set named, known or not
        self.leaves: set[int] = set()  # every phrase the query uses
        self.anchors: tuple[frozenset[int], frozenset[int] | None] = (frozenset(), None)
        self.failed = False
        self.rule_mask = _field_mask(spec.fields)

    def error(self, message: str, start: int) -> None:
        self.failed = True
        self.report.errors.append(self.spec.query_where.error(f"{message}", start))

    def compile(self) -> CNode | None:
        try:
            parsed = parse_query(self.spec.query)
        except QueryError as exc:
            self.error(exc.message, exc.start)
            return None
        for w in parsed.warnings:
            self.report.warnings.append(self.spec.query_where.warning(w.message, w.start))
        result = self.node(parsed.root, self.rule_mask)
        if self.failed:
            return None
        if result.anchors is None:
            self.error(
                "this query can match an article that contains none of its terms (it only"
                " excludes): add a term that must occur, e.g. drone* NOT exercise",
                parsed.root.start,
            )
            return None
        also = sorted(result.also, key=self.anchor_weight)
        self.anchors = (result.anchors, also[0] if also else None)
        return result.node

    def node(self, n: Node, fmask: int) -> _Compiled:
        if isinstance(n, TermNode):
            return self.term(n.phrase, n.text, None, fmask, n.text)
        if isinstance(n, SetNode):
            return self.set_ref(n, fmask)
        if isinstance(n, FieldNode):
            return self.field(n, fmask)
        if isinstance(n, NotNode):
            child = self.node(n.child, fmask)
            return _Compiled(CNot(child.node), None, 1.0 - child.weight / 2)
        if isinstance(n, OrNode):
            kids = [self.node(c, fmask) for c in n.children]
            anchors = _union([k.anchors for k in kids])
            return _Compiled(
                COr(tuple(k.node for k in kids)),
                anchors,
                min(1.0, sum(k.weight for k in kids)),
                (),
                self.anchor_weight(anchors),
            )
        if isinstance(n, AndNode):
            kids = [self.node(c, fmask) for c in n.children]
            order = sorted(kids, key=_WEIGHT)
            anchored = sorted((k for k in kids if k.anchors is not None), key=_AW)
            anchors = anchored[0].anchors if anchored else None
            also = [k.anchors for k in anchored[1:] if k.anchors is not None]
            for k in anchored:
                also.extend(k.also)
            return _Compiled(
                CAnd(tuple(k.node for k in kids), tuple(k.node for k in order)),
                anchors,
                min(k.weight for k in kids),
                tuple(also),
                anchored[0].aw if anchored else float("inf"),
            )
        if isinstance(n, NearNode):
            left, right = self.node(n.left, fmask), self.node(n.right, fmask)
            assert isinstance(left.node, Positional) and isinstance(right.node, Positional)
            pick, other = (left, right) if left.aw <= right.aw else (right, left)
            near_also = (other.anchors,) if other.anchors is not None else ()
            return _Compiled(
                CNear(left.node, right.node, n.distance, n.ordered),
                pick.anchors,
                min(left.weight, right.weight) / 2,
                near_also + left.also + right.also,
                pick.aw,
            )
        assert isinstance(n, AtLeastNode)
        return self.atleast(n, fmask)

    def term(
        self, phrase: Phrase, text: str, set_name: str | None, fmask: int, label: str
    ) -> _Compiled:
        # The text as written determines the phrase (a query term's quotes and braces are
        # part of it; a set entry's, with set_name, too): a key of strings hashes in C.
        key = (text, set_name, fmask, label)
        found = self.shared.terms.get(key)
        if found is None:
            leaf = self.vocabulary.leaf(phrase)
            node = CTerm(leaf, fmask, text, set_name, label)
            weight = term_weight(phrase)
            found = self.shared.terms[key] = _Compiled(node, frozenset((leaf,)), weight, (), weight)
        self.leaves |= found.anchors  # type: ignore[arg-type]
        return found

    def set_ref(self, n: SetNode, fmask: int) -> _Compiled:
        self.refs.add(n.name)
        entries = self.sets.get(n.name)
        if entries is None:
            self.error(f"unknown set @{n.name}{_suggest_set(n.name, self.sets)}", n.start)
            return _Compiled(CSet((), "@" + n.name), frozenset(), 0.0, (), 0.0)
        self.used_sets.add(n.name)
        found = self.shared.sets.get((n.name, fmask))
        if found is None:
            terms = [self.term(e.phrase, e.text, n.name, fmask, e.text) for e in entries]
            nodes = tuple(t.node for t in terms)
            assert all(isinstance(t, CTerm) for t in nodes)
            anchors = _union([t.anchors for t in terms]) or frozenset()
            found = self.shared.sets[(n.name, fmask)] = _Compiled(
                CSet(nodes, "@" + n.name),  # type: ignore[arg-type]
                anchors,
                min(1.0, sum(t.weight for t in terms)),
                (),
                self.anchor_weight(anchors),
            )
        else:
            self.leaves |= found.anchors  # type: ignore[arg-type]
        return found

    def field(self, n: FieldNode, fmask: int) -> _Compiled:
        bit = 1 << FIELDS.index(n.field)
        if not bit & self.rule_mask:
            self.error(
                f"{n.field}: is not searched by this rule (fields: {', '.join(self.spec.fields)}):"
                f" add {n.field} to fields or drop the restriction",
                n.start,
            )
        child = self.node(n.child, bit & fmask)
        if isinstance(child.node, Positional):
            wrapped: CNode = CFieldPositional(child.node, n.field)
        else:
            wrapped = CField(child.node, n.field)
        return _Compiled(wrapped, child.anchors, child.weight, child.also, child.aw)

    def atleast(self, n: AtLeastNode, fmask: int) -> _Compiled:
        kids = [self.node(c, fmask) for c in n.children]
        if len(kids) == 1:
            only = kids[0]
            assert isinstance(only.node, Positional)
            return _Compiled(
                CCount(n.n, only.node), only.anchors, only.weight / n.n, only.also, only.aw
            )
        anchored = sorted((k for k in kids if k.anchors is not None), key=_AW)
        unanchored = len(kids) - len(anchored)
        must = n.n - unanchored  # at least this many anchored operands hold in any match
        anchors: frozenset[int] | None = None
        also: list[frozenset[int]] = []
        if must > 0:
            # If `must` of the anchored operands hold, one of any (len - must + 1) of them
            # does: so one of the rarest group does, and one of each further disjoint group
            # of that size (ATLEAST/3 of 4 operands: one of the two rarest, and one of the
            # other two), a second filter for candidates.
            size = len(anchored) - must + 1
            groups = [anchored[i : i + size] for i in range(0, len(anchored) - size + 1, size)]
            anchors = _union([k.anchors for k in groups[0]])
            for group in groups[1:]:
                found = _union([k.anchors for k in group])
                assert found is not None  # every operand here is anchored
                also.append(found)
        weight = min(1.0, sorted(k.weight for k in kids)[n.n - 1] * len(kids))
        return _Compiled(
            CAtLeast(n.n, tuple(k.node for k in kids)),
            anchors,
            weight,
            tuple(also),
            self.anchor_weight(anchors),
        )

    def anchor_weight(self, anchors: frozenset[int] | None) -> float:
        if anchors is None:
            return float("inf")
        found = self.shared.anchor_weights.get(anchors)
        if found is None:
            phrases = self.vocabulary.phrases
            found = sum(term_weight(phrases[leaf]) for leaf in anchors)
            self.shared.anchor_weights[anchors] = found
        return found


def _suggest_set(name: str, known: Collection[str]) -> str:
    return did_you_mean("@" + name, ["@" + k for k in known])


def _union(parts: Sequence[frozenset[int] | None]) -> frozenset[int] | None:
    if any(p is None for p in parts):
        return None
    out: set[int] = set()
    for p in parts:
        assert p is not None
        out.update(p)
    return frozenset(out)
