"""The ``monitor`` command line: one group, sub-commands grouped by pipeline stage."""

from __future__ import annotations

import click

from monitor import __version__
from monitor.cli import (
    backtest_cmds,
    core_cmds,
    digest_cmds,
    doctor_cmd,
    init_cmd,
    outbox_cmds,
    rules_cmds,
    secret_cmd,
    store_cmds,
)
from monitor.cli.common import GlobalOptions, config_options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
@config_options
@click.pass_context
def main(
    ctx: click.Context, config_path: str | None, log_level: str | None, log_format: str | None
) -> None:
    """News alert monitor: polls feeds, matches watch rules, sends alerts.

    --config, --log-level and --log-format may be given here, before the command, or
    after it.
    """
    ctx.obj = GlobalOptions(config_path, log_level, log_format)


core_cmds.register(main)
rules_cmds.register(main)
outbox_cmds.register(main)
store_cmds.register(main)
digest_cmds.register(main)
backtest_cmds.register(main)
secret_cmd.register(main)
init_cmd.register(main)
doctor_cmd.register(main)
