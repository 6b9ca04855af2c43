"""``monitor init DIR``: a starting point a team owns — config, starter rules, templates.

The packaged defaults cannot be edited in place (they live in site-packages), so a team
copies them out once and points ``--config`` at the copy. Nothing existing is overwritten
unless ``--force``: a second ``init`` must never silently destroy a desk's edited rules.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from monitor import resources


@dataclass(frozen=True)
class Copy:
    """One file to write: where it comes from in the package, where it goes."""

    source: Path
    target: Path


def plan(directory: Path) -> list[Copy]:
    """Every file ``init`` writes into ``directory``, in the order it writes them."""
    copies = [Copy(resources.init_config(), directory / "monitor.toml")]
    for kind in ("rules", "templates"):
        root = resources.packaged(kind)
        for source in sorted(p for p in root.rglob("*") if p.is_file()):
            if source.name.startswith(".") or "__pycache__" in source.parts:
                continue
            copies.append(Copy(source, directory / kind / source.relative_to(root)))
    return copies


def write(copies: list[Copy], *, force: bool) -> None:
    """Copy the files, refusing (before writing anything) to replace one unless ``force``."""
    existing = [c.target for c in copies if c.target.exists()]
    if existing and not force:
        names = "\n  ".join(str(p) for p in existing)
        raise click.ClickException(
            f"refusing to overwrite existing file(s) (use --force to replace them):\n  {names}"
        )
    not_files = [p for p in existing if not p.is_file()]
    if not_files:
        raise click.ClickException(f"{not_files[0]} exists and is not a file")
    for copy in copies:
        copy.target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(copy.source, copy.target)


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init(directory: Path, force: bool) -> None:
    """Write DIR/monitor.toml (commented), DIR/rules/ and DIR/templates/ to edit.

    The rules are the starter rules and the templates the packaged ones; the config points
    at both and keeps its data in DIR/data.
    """
    if directory.exists() and not directory.is_dir():
        raise click.ClickException(f"{directory} exists and is not a directory")
    copies = plan(directory)
    try:
        write(copies, force=force)
    except OSError as exc:
        click.echo(f"monitor: cannot write {exc.filename or directory}: {exc.strerror}", err=True)
        sys.exit(2)
    config = directory / "monitor.toml"
    rules = sum(1 for c in copies if c.target.parent == directory / "rules")
    templates = sum(1 for c in copies if (directory / "templates") in c.target.parents)
    click.echo(f"wrote {config}")
    click.echo(f"wrote {directory / 'rules'}/ ({rules} starter rule files)")
    click.echo(f"wrote {directory / 'templates'}/ ({templates} templates to override)")
    click.echo("next:")
    click.echo(f"  monitor --config {config} rules check")
    click.echo(f"  monitor --config {config} poll --once")


def register(main: click.Group) -> None:
    """Add ``init`` to the ``monitor`` group."""
    main.add_command(init)
