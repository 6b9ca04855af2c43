"""Rules and sets as written, before compilation: what the YAML loader produces.

The benchmark and tests build these directly; ``load_rules`` builds them from files.
Every value carries its :class:`Located` so the compiler can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from monitor.models import FIELDS, Severity, Surge
from monitor.rules.diagnostics import MEMORY, Located


@dataclass(frozen=True, slots=True)
class EntrySpec:
    text: str
    where: Located = MEMORY


@dataclass(frozen=True, slots=True)
class SetSpec:
    """A named set of aliases (``actors:``) or topic terms (``keywords:``)."""

    name: str
    entries: tuple[EntrySpec, ...]
    kind: str = "actors"
    where: Located = MEMORY


@dataclass(frozen=True, slots=True)
class ExampleSpec:
    """An example text a rule must (``expect``) or must not match.

    ``text`` is used as every field the rule searches; ``fields`` gives per-field texts.
    """

    expect: bool
    text: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    where: Located = MEMORY

    def field_texts(self, rule_fields: tuple[str, ...]) -> dict[str, str]:
        if self.text is not None:
            return {name: self.text for name in rule_fields}
        return dict(self.fields)

    def describe(self) -> str:
        if self.text is not None:
            return self.text
        return "; ".join(f"{name}: {text}" for name, text in self.fields)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule as written.

    ``has_errors``: the loader already reported errors in it; it is compiled only so that
    its query's errors are reported too, and is not linted (its warnings would be noise).
    """

    id: str
    title: str
    query: str
    severity: Severity = "medium"
    fields: tuple[str, ...] = FIELDS
    notify: tuple[str, ...] = ()
    schedule: str = "immediate"
    cooldown: timedelta | None = None
    examples: tuple[ExampleSpec, ...] = ()
    where: Located = MEMORY
    query_where: Located = MEMORY
    notify_where: tuple[Located, ...] = ()
    schedule_where: Located = MEMORY
    has_errors: bool = False
    feeds: tuple[str, ...] = ()  # feed names and tag:NAME; empty: every feed
    surge: Surge | None = None  # alert on volume: one alert per surge, none per article
