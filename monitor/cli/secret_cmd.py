"""``monitor secret``: a fresh webhook signing secret (``whsec_`` + 32 random bytes, base64)."""

from __future__ import annotations

import click

from monitor.notifiers.signing import new_secret


@click.command("secret")
def secret() -> None:
    """Print a new Standard Webhooks secret for a webhook channel's ``secret``.

    Give the same value to the receiver; keep it out of the config file if you can
    (MONITOR_CHANNELS__NAME__SECRET).
    """
    click.echo(new_secret())


def register(main: click.Group) -> None:
    """Add this module's command to the ``monitor`` group."""
    main.add_command(secret)
