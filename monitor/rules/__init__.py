"""The rule language and engine: analysts' watch rules compiled into one fast, pure matcher.

``load_rules`` reads YAML rule files and reports every problem with file:line:column
(a ``RuleLoader`` does the same and reloads only the files that changed);
``RuleSet.match`` finds the rules an article matches, with the hits that justify each;
``watch_rules`` re-loads on change for the daemon.
"""

from __future__ import annotations

from monitor.rules.compiler import LoadResult, compile_rules
from monitor.rules.diagnostics import Diagnostic, Located
from monitor.rules.loader import RuleLoader, load_rules, rule_files
from monitor.rules.nodes import ExplainNode
from monitor.rules.ruleset import Explanation, RuleSet, RuleSetStats
from monitor.rules.spec import EntrySpec, ExampleSpec, RuleSpec, SetSpec
from monitor.rules.watch import watch_rules

__all__ = [
    "Diagnostic",
    "EntrySpec",
    "ExampleSpec",
    "ExplainNode",
    "Explanation",
    "LoadResult",
    "Located",
    "RuleLoader",
    "RuleSet",
    "RuleSetStats",
    "RuleSpec",
    "SetSpec",
    "compile_rules",
    "load_rules",
    "rule_files",
    "watch_rules",
]
