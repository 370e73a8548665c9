"""``plait package``: build the source archive Cloud Functions deploys (``plait.packaging``)."""

from __future__ import annotations

import time

import click

from plait.cli.output import console, error_console, human_size


@click.command()
@click.argument("service_directory", default=".", type=click.Path(file_okay=False))
@click.option(
    "--output",
    "-o",
    help="The archive's path (default: build/<service name>.zip). If it is a directory (or ends with /), the "
    "archive is named <service name>-<content hash>.zip inside it.",
)
@click.option(
    "--exclude",
    multiple=True,
    metavar="PATTERN",
    help="Leave out of the service directory the files or directories matching this glob (a name like "
    "'*.parquet', or a path like 'data/*'); repeatable.",
)
def package(service_directory: str, output: str | None, exclude: tuple[str, ...]) -> None:
    """Build the source archive that Terraform deploys for the service in SERVICE_DIRECTORY.

    The archive holds main.py (the four entry points), the installed plait package, the service
    directory (as service/) and requirements.txt with plait's dependencies pinned. Building it
    again from the same files gives the same bytes; its path and SHA-256 are printed on stdout.
    """
    from plait.packaging import build_source_archive

    started = time.perf_counter()
    archive = build_source_archive(service_directory, output=output, exclude=exclude)
    elapsed = time.perf_counter() - started
    error_console.print(
        f"Packaged {archive.service_name}: {len(archive.entries)} files, {human_size(archive.size)}, "
        f"in {elapsed:.2f} s."
    )
    console.print(archive.path, soft_wrap=True)
    console.print(f"sha256:{archive.sha256}", soft_wrap=True)
