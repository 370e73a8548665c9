"""The ``plait`` command line.

Every command has ``--help``. Errors that plait raises on purpose are shown as one readable
message (exit status 1); ``plait --verbose ...`` shows the traceback as well.
"""

from __future__ import annotations

import logging
import sys

import click

from plait import __version__
from plait.exceptions import PlaitException


class _PlaitGroup(click.Group):
    """A command group that turns plait's own errors into one-line messages."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PlaitException as error:
            if ctx.find_root().params.get("verbose"):
                raise
            raise click.ClickException(f"{error}\n(run with `plait --verbose ...` to see the traceback)") from error


@click.group(cls=_PlaitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plait")
@click.option("--verbose", "-v", is_flag=True, help="Show debug logs, and tracebacks on errors.")
def cli(verbose: bool) -> None:
    """plait turns an analysis into a data service on Google Cloud, and works with its datasets."""
    # The handler's own level matters: analyses lower the root logger's level while they run, and
    # their logs are shown by their own handlers, not this one.
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)


def _register_commands() -> None:
    from plait.cli.dataset import dataset
    from plait.cli.demo import demo
    from plait.cli.run import run

    cli.add_command(dataset)
    cli.add_command(demo)
    cli.add_command(run)


_register_commands()


def main() -> None:
    """The ``plait`` console script."""
    cli(prog_name="plait")
