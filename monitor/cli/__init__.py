"""The ``monitor`` command line: one group, sub-commands grouped by pipeline stage."""

from __future__ import annotations

import click

from monitor import __version__
from monitor.cli import (
    backtest_cmds,
    core_cmds,
    digest_cmds,
    outbox_cmds,
    rules_cmds,
    secret_cmd,
    store_cmds,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
def main() -> None:
    """News alert monitor: polls feeds, matches watch rules, sends alerts."""


core_cmds.register(main)
rules_cmds.register(main)
outbox_cmds.register(main)
store_cmds.register(main)
digest_cmds.register(main)
backtest_cmds.register(main)
secret_cmd.register(main)
