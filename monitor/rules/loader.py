"""Reading rule files: YAML to specs, with the file:line:column of every value.

``yaml_compose.compose`` keeps a start mark on every node, so each key, set entry and
query is located; a query's characters are mapped back through quoting, escapes
and folding so an error inside a query points at the right column.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
from bisect import bisect_right
from collections.abc import Collection, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import yaml

from monitor.models import FIELDS, SEVERITIES, Severity, Surge
from monitor.rules.compiler import Compiler, LoadResult, Source
from monitor.rules.diagnostics import Diagnostic, Located, did_you_mean
from monitor.rules.query import SET_NAME_RE
from monitor.rules.spec import EntrySpec, ExampleSpec, RuleSpec, SetSpec
from monitor.rules.yaml_compose import compose

RULE_SUFFIXES = (".yaml", ".yml")
TOP_KEYS = ("actors", "keywords", "rules")
RULE_KEYS = (
    "id",
    "title",
    "severity",
    "query",
    "fields",
    "notify",
    "schedule",
    "cooldown",
    "feeds",
    "surge",
    "examples",
)
SURGE_KEYS = ("sources", "within")
# Names an analyst may reach for, for the hint (did_you_mean only knows spellings).
_SURGE_SYNONYMS = {
    **dict.fromkeys(("window", "period", "duration", "in", "span", "time"), "within"),
    **dict.fromkeys(("feeds", "count", "threshold", "min_sources", "outlets"), "sources"),
}
MAX_SURGE_WINDOW = timedelta(days=7)  # evaluations read two windows of the rule's matches
_REQUIRED = {"id": "my-rule", "query": "drone*"}
_RULE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_COOLDOWN_RE = re.compile(r"\s*(\d+)\s*([smhd])\s*")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# A rule file is text an analyst writes; one far larger is a mistake (a log or data file
# saved as .yaml) and would hold the loader, and the daemon's reload, for minutes.
DEFAULT_MAX_FILE_BYTES = 10_000_000


def rule_files(paths: Sequence[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """The rule files under ``paths`` (files, or directories searched recursively).

    A file reached twice (``--rules rules --rules rules/iran.yaml``) is read once:
    read twice, each of its rules and sets would be reported as a duplicate of itself.
    """
    files: list[Path] = []
    errors: list[Diagnostic] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
        elif path.is_file():
            found = [path]
        else:
            errors.append(Diagnostic(str(path), 1, 1, "no such rule file or directory"))
            continue
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, errors


def load_rules(
    paths: Sequence[Path],
    *,
    channels: Collection[str] | None = None,
    digests: Collection[str] | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> LoadResult:
    """Load and compile every rule file under ``paths``; report all errors of all files.

    ``channels``/``digests`` are the configured names, to check ``notify:`` and
    ``schedule:`` against (None: don't check). A file larger than ``max_file_bytes``
    (the ``rules.max_file_bytes`` setting) is refused unread.
    """
    loader = RuleLoader(paths, channels=channels, digests=digests, max_file_bytes=max_file_bytes)
    return loader.load()


class RuleLoader:
    """Loads the rule files under ``paths``; each later :meth:`load` is a reload that
    re-reads and re-compiles only the files whose content changed (and the rules of
    others that name a set whose entries changed), with the same result as a first load.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        channels: Collection[str] | None = None,
        digests: Collection[str] | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.max_file_bytes = max_file_bytes
        self._compiler = Compiler(channels=channels, digests=digests)
        self._read: dict[str, Source] = {}  # the last read of each file, by name
        self._loaded = False

    def load(self) -> LoadResult:
        """Read the rule files (again) and compile them into one rule set, or the errors.

        The first load ends with ``gc.freeze()`` (after collecting the young garbage,
        cheaply; older garbage is rare): the millions of objects of a large rule set
        live on, and the cyclic collector would otherwise traverse them all in its next
        full pass (about a second at 100,000 rules, right after the start) and in every
        later one, to find nothing to free. A rule set holds no reference cycles, so a
        replaced one is still freed by reference counting.
        """
        first = not self._loaded
        enabled = gc.isenabled()
        if first and enabled:
            gc.collect(1)
        # As in compiling: reading allocates millions of nodes and specs that all live
        # until compiled; the cyclic collector would traverse them again and again (most
        # of the time of composing a 100,000-rule start) and find nothing to free.
        gc.disable()
        try:
            files, errors = rule_files(self.paths)
            sources = [self._source(path) for path in files]
            self._read = {s.name: s for s in sources}
            result = self._compiler.compile(sources, errors)
            self._loaded = True
            if result.errors:
                return LoadResult(None, _ordered(result.errors), _ordered(result.warnings))
            return LoadResult(result.ruleset, (), _ordered(result.warnings))
        finally:
            if first:
                gc.freeze()
            if enabled:
                gc.enable()

    def _source(self, path: Path) -> Source:
        """The file's sets and rules: the last read of it when its content is the same."""
        name = str(path)
        reader = _FileReader(path)
        data = reader.read_bytes(self.max_file_bytes)
        if data is None:  # reported
            return Source(name, None, (), (), tuple(reader.errors))
        digest = hashlib.blake2b(data, digest_size=16).digest()
        last = self._read.get(name)
        if last is not None and last.digest == digest:
            return last
        reader.read(data)
        return Source(
            name,
            digest,
            tuple(reader.sets),
            tuple(reader.rules),
            tuple(reader.errors),
            tuple(reader.warnings),
        )


def _ordered(diags: Sequence[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(set(diags), key=lambda d: (d.path, d.line, d.column, d.message)))


class _FileReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self.text = ""
        self.line_starts: list[int] = [0]
        self.sets: list[SetSpec] = []
        self.rules: list[RuleSpec] = []
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []

    # ---------------------------------------------------------------- locations

    def at(self, node: yaml.Node) -> Located:
        mark = node.start_mark
        return Located(self.name, mark.line + 1, mark.column + 1)

    def scalar_at(self, node: yaml.ScalarNode) -> Located:
        """The node's place plus, per character of its value, that character's place."""
        text, value = self.text, str(node.value)
        p, end = node.start_mark.index, node.end_mark.index
        style = node.style
        quoted = style in ("'", '"')
        if "\n" not in text[p:end] and text[p + quoted : end - quoted] == value:
            # One line, written as it reads (no escapes): each character is where it stands,
            # so no per-character map is needed (the common case, and 100,000 of them).
            mark = node.start_mark
            return Located(self.name, mark.line + 1, mark.column + 1 + quoted)
        if quoted:
            p += 1
        elif style in ("|", ">"):
            newline = text.find("\n", p, end)
            p = end if newline < 0 else newline + 1
        indexes: list[int] = []
        for ch in value:
            q = p
            while q < end and not (text[q] == ch or (ch == " " and text[q] in "\n\r")):
                q += 1
            if q >= end:
                q = min(p, max(end - 1, 0))
            indexes.append(q)
            p = q + 1
        offsets = tuple(self._line_col(i) for i in indexes)
        where = self.at(node)
        return Located(self.name, where.line, where.column, offsets)

    def _line_col(self, index: int) -> tuple[int, int]:
        line = bisect_right(self.line_starts, index)
        return line, index - self.line_starts[line - 1] + 1

    def error(self, node: yaml.Node, message: str) -> None:
        self.errors.append(self.at(node).error(message))

    # ---------------------------------------------------------------- reading

    def read_bytes(self, max_bytes: int) -> bytes | None:
        """The file's content, refused (unread) beyond ``max_bytes``; None when reported."""
        try:
            with self.path.open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size > max_bytes:
                    raise _TooLarge(size)
                data = fh.read(max_bytes + 1)  # the file may have grown since
            if len(data) > max_bytes:
                raise _TooLarge(len(data))
        except _TooLarge as exc:
            self.errors.append(
                Diagnostic(
                    self.name,
                    1,
                    1,
                    f"file too large: {exc.size:,} bytes, more than the {max_bytes:,} allowed"
                    " (rules.max_file_bytes): split it into several rule files",
                )
            )
            return None
        except OSError as exc:
            self.errors.append(Diagnostic(self.name, 1, 1, f"cannot read: {exc.strerror}"))
            return None
        return data

    def read(self, data: bytes) -> None:
        """Read the sets and rules of the file's content ``data``."""
        try:
            # universal newlines
            self.text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError as exc:
            self.errors.append(
                Diagnostic(self.name, 1, 1, f"not UTF-8 text ({exc.reason}): save it as UTF-8")
            )
            return
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        try:
            root = compose(self.text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = exc.problem or "invalid YAML"
            context = f" ({exc.context})" if exc.context else ""
            self.errors.append(
                Diagnostic(self.name, line, column, f"invalid YAML: {problem}{context}")
            )
            return
        except yaml.YAMLError as exc:
            self.errors.append(Diagnostic(self.name, 1, 1, f"invalid YAML: {exc}"))
            return
        if root is None:
            return
        if not isinstance(root, yaml.MappingNode):
            self.error(root, "a rule file is a mapping with the keys actors:, keywords: and rules:")
            return
        for key, value in self.mapping(root):
            if key.value in ("actors", "keywords"):
                self.read_sets(str(key.value), value)
            elif key.value == "rules":
                self.read_rules(value)
            else:
                self.error(
                    key,
                    f"unknown key {key.value}{did_you_mean(str(key.value), TOP_KEYS)}:"
                    f" a rule file has {', '.join(TOP_KEYS)}",
                )

    def mapping(self, node: yaml.MappingNode) -> Iterator[tuple[yaml.ScalarNode, yaml.Node]]:
        """The (key, value) pairs of a mapping; reports non-scalar and duplicate keys."""
        seen: dict[str, yaml.Node] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                self.error(key, "keys must be plain names")
                continue
            name = str(key.value)
            if name in seen:
                self.error(
                    key, f"duplicate key {name} (first at line {seen[name].start_mark.line + 1})"
                )
                continue
            seen[name] = key
            yield key, value

    def read_sets(self, kind: str, node: yaml.Node) -> None:
        if _is_null(node):
            return
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{kind}: must map set names to lists, e.g. iran: [Iran, Tehran]")
            return
        for key, value in self.mapping(node):
            name = str(key.value)
            if not SET_NAME_RE.fullmatch(name):
                self.error(
                    key,
                    f"bad set name {name!r}: use letters, digits, _ and - (starting with a letter)",
                )
                continue
            items = value.value if isinstance(value, yaml.SequenceNode) else None
            if items is None:
                self.error(value, f"set {name} must be a list of entries, e.g. [Iran, Tehran]")
                continue
            entries: list[EntrySpec] = []
            for item in items:
                if (
                    not isinstance(item, yaml.ScalarNode)
                    or _is_null(item)
                    or not str(item.value).strip()
                ):
                    self.error(item, f"set {name}: each entry must be a non-empty text")
                    continue
                entries.append(EntrySpec(str(item.value), self.scalar_at(item)))
            if not items:
                self.error(value, f"set {name} is empty: add at least one entry")
                continue
            self.sets.append(SetSpec(name, tuple(entries), kind, self.at(key)))

    def read_rules(self, node: yaml.Node) -> None:
        if _is_null(node):
            return
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, "rules: must be a list of rules (each item starts with '- id:')")
            return
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                self.error(item, "each rule must be a mapping with id:, title:, query: …")
                continue
            spec = self.read_rule(item)
            if spec is not None:
                self.rules.append(spec)

    def read_rule(self, node: yaml.MappingNode) -> RuleSpec | None:
        """The rule's spec, also when it has errors, so that all of them are reported."""
        errors_before = len(self.errors)
        where = self.at(node)
        values: dict[str, yaml.Node] = {}
        for key, value in self.mapping(node):
            name = str(key.value)
            if name not in RULE_KEYS:
                self.error(
                    key,
                    f"unknown rule key {name}{did_you_mean(name, RULE_KEYS)}"
                    f" (rule keys: {', '.join(RULE_KEYS)})",
                )
                continue
            values[name] = value
        texts: dict[str, str] = {}
        failed = False
        for required, example in _REQUIRED.items():
            given = values.get(required)
            if given is None:
                self.error(node, f"rule is missing {required}: (add {required}: {example})")
                failed = True
            elif not isinstance(given, yaml.ScalarNode) or not str(given.value).strip():
                self.error(given, f"{required}: must be a non-empty text")
                failed = True
            else:
                texts[required] = str(given.value)
        rule_id = texts.get("id", "")
        if "id" in texts and not _RULE_ID_RE.fullmatch(rule_id):
            self.error(values["id"], f"bad rule id {rule_id!r}: use letters, digits, -, _ and .")
            failed = True
        title = self.read_title(node, values.get("title"), rule_id)
        severity = self.read_severity(values.get("severity"))
        fields = self.read_fields(values.get("fields"))
        notify, notify_where = self.read_names(values.get("notify"), "notify")
        schedule, schedule_where = "immediate", where
        if "schedule" in values:
            value = values["schedule"]
            if isinstance(value, yaml.ScalarNode) and str(value.value).strip():
                schedule, schedule_where = str(value.value).strip(), self.at(value)
            else:
                self.error(value, "schedule: must be immediate or the name of a digest")
                failed = True
        cooldown = self.read_cooldown(values.get("cooldown"))
        feeds = self.read_feeds(values.get("feeds"))
        surge = self.read_surge(values.get("surge"))
        examples = self.read_examples(values.get("examples"))
        query_node = values.get("query")
        if "query" not in texts or not isinstance(query_node, yaml.ScalarNode):
            return None
        if "id" not in texts:  # a name no valid id can take, unique per place
            rule_id = f"<rule at {where.path}:{where.line}:{where.column}>"
        # A rule with bad values is still compiled, so its query's errors (syntax, unknown
        # sets…) are reported beside the others; the errors already recorded refuse the set.
        return RuleSpec(
            id=rule_id,
            title=title or rule_id,
            query=texts["query"],
            severity=severity or "medium",
            fields=fields or FIELDS,
            notify=notify,
            schedule=schedule,
            cooldown=None if isinstance(cooldown, bool) else cooldown,
            examples=examples or (),
            where=where,
            query_where=self.scalar_at(query_node),
            notify_where=notify_where,
            schedule_where=schedule_where,
            has_errors=failed or len(self.errors) > errors_before,
            feeds=feeds,
            surge=surge,
        )

    def read_title(self, rule: yaml.Node, node: yaml.Node | None, rule_id: str) -> str | None:
        """The title, or None: a missing title is only a warning, the id stands in for it."""
        if node is None or _is_null(node):
            if rule_id:
                self.warnings.append(
                    self.at(rule).warning(
                        f"rule {rule_id} has no title: its id is shown in alerts"
                        " (add title: What the rule watches)"
                    )
                )
            return None
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.error(node, "title: must be a non-empty text")
            return None
        return str(node.value).strip()

    def read_severity(self, node: yaml.Node | None) -> Severity | None:
        if node is None:
            return "medium"
        value = str(node.value).strip().lower() if isinstance(node, yaml.ScalarNode) else ""
        for severity in SEVERITIES:
            if value == severity:
                return severity
        self.error(
            node,
            f"unknown severity {value!r}{did_you_mean(value, SEVERITIES)}:"
            f" use one of {', '.join(SEVERITIES)}",
        )
        return None

    def read_fields(self, node: yaml.Node | None) -> tuple[str, ...] | None:
        if node is None:
            return FIELDS
        names, places = self.read_names(node, "fields")
        if not names:
            self.error(node, f"fields: must list at least one of {', '.join(FIELDS)}")
            return None
        bad = False
        for name, where in zip(names, places, strict=True):
            if name not in FIELDS:
                bad = True
                self.errors.append(
                    where.error(
                        f"unknown field {name}{did_you_mean(name, FIELDS)}: use {', '.join(FIELDS)}"
                    )
                )
        if bad:
            return None
        return tuple(f for f in FIELDS if f in names)

    def read_names(
        self, node: yaml.Node | None, key: str
    ) -> tuple[tuple[str, ...], tuple[Located, ...]]:
        """A list of names (a single name is accepted as a list of one)."""
        if node is None or _is_null(node):
            return (), ()
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        names: list[str] = []
        places: list[Located] = []
        for item in items:
            if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
                self.error(item, f"{key}: must be a list of names")
                continue
            names.append(str(item.value).strip())
            places.append(self.at(item))
        return tuple(names), tuple(places)

    def read_feeds(self, node: yaml.Node | None) -> tuple[str, ...]:
        """Feed names and ``tag:NAME`` entries (reported when malformed); () for every feed."""
        if node is None or _is_null(node):
            return ()
        names, places = self.read_names(node, "feeds")
        if not names:
            self.error(node, "feeds: must list feed names or tag:NAME, e.g. [tag:wire, reuters]")
            return ()
        out: list[str] = []
        for name, where in zip(names, places, strict=True):
            kind, colon, rest = name.partition(":")
            if colon and kind != "tag":
                hint = did_you_mean(kind, ("tag",))
                self.errors.append(
                    where.error(f"bad feeds entry {name!r}{hint}: write a feed name or tag:NAME")
                )
                continue
            if colon and not rest.strip():
                self.errors.append(where.error("tag: needs the tag's name, e.g. tag:wire"))
                continue
            out.append(f"tag:{rest.strip()}" if colon else name)
        return tuple(dict.fromkeys(out))

    def read_cooldown(self, node: yaml.Node | None) -> timedelta | bool | None:
        """The cooldown, None when absent, False when invalid (already reported)."""
        if node is None or _is_null(node):
            return None
        duration = self.read_duration(node, "cooldown")
        return False if duration is None else duration

    def read_surge(self, node: yaml.Node | None) -> Surge | None:
        """``surge: {sources: N, within: DURATION}``; None when absent or invalid (reported)."""
        if node is None or _is_null(node):
            return None
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "surge: must be a mapping, e.g. surge: {sources: 3, within: 2h}")
            return None
        given: dict[str, yaml.Node] = {}
        ok = True
        for key, value in self.mapping(node):
            name = str(key.value)
            if name not in SURGE_KEYS:
                hint = did_you_mean(name, SURGE_KEYS) or (
                    f" (did you mean {_SURGE_SYNONYMS[name]}?)" if name in _SURGE_SYNONYMS else ""
                )
                self.error(key, f"unknown surge key {name}{hint} (surge keys: sources, within)")
                ok = False
                continue
            given[name] = value
        for name, example in (("sources", "3"), ("within", "2h")):
            if name not in given:
                self.error(node, f"surge: is missing {name}: (add {name}: {example})")
                ok = False
        sources = self.read_surge_sources(given.get("sources"))
        within = self.read_duration(given.get("within"), "surge within")
        if within is not None and within > MAX_SURGE_WINDOW:
            self.error(given["within"], "surge within: must be at most 7d")
            return None
        if not ok or sources is None or within is None:
            return None
        return Surge(sources=sources, within=within)

    def read_surge_sources(self, node: yaml.Node | None) -> int | None:
        if node is None:
            return None
        text = str(node.value).strip() if isinstance(node, yaml.ScalarNode) else ""
        if not text.isdigit() or int(text) < 2:
            self.error(
                node,
                "surge sources: must be a whole number of distinct feeds, at least 2, e.g. 3",
            )
            return None
        return int(text)

    def read_duration(self, node: yaml.Node | None, key: str) -> timedelta | None:
        """A positive duration like 30m, 2h or 1d; None when absent or invalid (reported)."""
        if node is None:
            return None
        m = _COOLDOWN_RE.fullmatch(str(node.value)) if isinstance(node, yaml.ScalarNode) else None
        if m is None or int(m.group(1)) == 0:
            self.error(node, f"{key}: must be a positive number with a unit s, m, h or d, e.g. 30m")
            return None
        return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})

    def read_examples(self, node: yaml.Node | None) -> tuple[ExampleSpec, ...] | None:
        if node is None or _is_null(node):
            return ()
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "examples: must be a mapping with match: and no_match: lists")
            return None
        out: list[ExampleSpec] = []
        ok = True
        for key, value in self.mapping(node):
            if key.value not in ("match", "no_match"):
                self.error(
                    key,
                    f"unknown examples key {key.value}"
                    f"{did_you_mean(str(key.value), ('match', 'no_match'))}:"
                    " use match: or no_match:",
                )
                ok = False
                continue
            expect = key.value == "match"
            items = value.value if isinstance(value, yaml.SequenceNode) else None
            if items is None:
                self.error(value, f"examples {key.value}: must be a list of texts")
                ok = False
                continue
            for item in items:
                example = self.read_example(item, expect)
                if example is None:
                    ok = False
                else:
                    out.append(example)
        return tuple(out) if ok else None

    def read_example(self, node: yaml.Node, expect: bool) -> ExampleSpec | None:
        if isinstance(node, yaml.ScalarNode) and str(node.value).strip():
            return ExampleSpec(expect, text=str(node.value), where=self.at(node))
        if isinstance(node, yaml.MappingNode):
            fields: list[tuple[str, str]] = []
            bad = False
            for key, value in self.mapping(node):
                name = str(key.value)
                if name not in FIELDS:
                    self.error(key, f"unknown field {name}{did_you_mean(name, FIELDS)} in example")
                    bad = True
                elif not isinstance(value, yaml.ScalarNode):
                    self.error(value, f"example {name}: must be a text")
                    bad = True
                else:
                    fields.append((name, str(value.value)))
            if bad:
                return None
            if fields:
                return ExampleSpec(expect, fields=tuple(fields), where=self.at(node))
        self.error(node, "an example is a text, or a mapping of title:/summary:/content: texts")
        return None


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
