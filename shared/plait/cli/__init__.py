"""The ``plait`` command line.

Every command has ``--help``. Errors are shown as one readable message (exit status 1): plait's
own errors as they are, anything else (an app's own exception, say) with its type;
``plait --verbose ...`` shows the traceback as well.
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
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if ctx.find_root().params.get("verbose"):
                raise
            message = str(error) if isinstance(error, PlaitException) else f"{type(error).__name__}: {error}"
            message = message.split("\n\nRemote traceback", 1)[0]  # a child's traceback: shown with --verbose
            raise click.ClickException(f"{message}\n(run with `plait --verbose ...` to see the traceback)") from error


class _NotAnalysisRecords(logging.Filter):
    """Analyses show their own log records through their own handlers; don't show them twice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "plait_analysis_id", None) is None


_cli_handler: logging.Handler | None = None


@click.group(cls=_PlaitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plait")
@click.option("--verbose", "-v", is_flag=True, help="Show debug logs, and tracebacks on errors.")
def cli(verbose: bool) -> None:
    """plait turns an analysis into a data service on Google Cloud, and works with its datasets."""
    # The handler's own level matters: analyses lower the root logger's level while they run, and
    # their logs are shown by their own handlers, not this one.
    global _cli_handler
    root = logging.getLogger()
    if _cli_handler is not None:  # invoked again in the same process (tests): replace, don't pile up
        root.removeHandler(_cli_handler)
    _cli_handler = logging.StreamHandler(sys.stderr)
    _cli_handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    _cli_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    _cli_handler.addFilter(_NotAnalysisRecords())
    root.addHandler(_cli_handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)


def _register_commands() -> None:
    from plait.cli.dataset import dataset
    from plait.cli.demo import demo
    from plait.cli.experiments import experiments, extensions, tasks
    from plait.cli.package import package
    from plait.cli.run import run
    from plait.cli.service import ask, start

    cli.add_command(dataset)
    cli.add_command(demo)
    cli.add_command(run)
    cli.add_command(start)
    cli.add_command(ask)
    cli.add_command(package)
    cli.add_command(experiments)
    cli.add_command(extensions)
    cli.add_command(tasks)


_register_commands()


def main() -> None:
    """The ``plait`` console script."""
    cli(prog_name="plait")
