"""``plait dataset ...``: describe, upload, download and sign datasets."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import click
from rich.table import Table

from plait.cli.output import byte_progress, console, format_tags, human_size

_DURATION = re.compile(r"^(?P<number>\d+(\.\d+)?)(?P<unit>[smhd]?)$")
_UNITS = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    match = _DURATION.match(value.strip())
    if not match:
        raise click.BadParameter(f"{value!r} is not a duration: use e.g. '3600', '30m', '12h' or '7d'.")
    return timedelta(**{_UNITS[match["unit"]]: float(match["number"])})


_recursive_option = click.option(
    "--recursive/--no-recursive", "-r", default=False, show_default=True, help="Include files in subdirectories."
)


@click.group()
def dataset() -> None:
    """Describe, upload, download and sign datasets (local directories, gs:// paths, signed URLs)."""


@dataset.command()
@click.argument("path")
@_recursive_option
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON instead of a table.")
def describe(path: str, recursive: bool, as_json: bool) -> None:
    """Show a dataset's metadata and its files' sizes, tags, labels and hashes.

    PATH is a local directory, a gs:// path or a dataset's signed URL.
    """
    from plait.resources import Dataset

    dataset = Dataset(path=path, recursive=recursive)
    files = sorted(dataset.files, key=dataset.path_in_dataset)
    sizes = {file: file.size_bytes for file in files}

    with byte_progress("Hashing", total=sum(size or 0 for size in sizes.values())) as advance:
        for file in files:
            file.hash_value  # noqa: B018 - computing and remembering the hash is the point
            advance(sizes[file] or 0)

    if as_json:
        description = {
            **dataset.metadata(),
            "path": dataset.path,
            "hash_value": dataset.hash_value,
            "files": [
                {
                    "path_in_dataset": dataset.path_in_dataset(file),
                    "size_bytes": sizes[file],
                    "tags": file.tags.to_primitive(),
                    "labels": file.labels.to_primitive(),
                    "hash_value": file.hash_value,
                }
                for file in files
            ],
        }
        click.echo(json.dumps(description, indent=2))
        return

    console.print(f"[bold]Dataset[/bold] {dataset.name}  ({dataset.path})")
    console.print(f"  id      {dataset.id}")
    console.print(f"  tags    {format_tags(dataset.tags) or '-'}")
    console.print(f"  labels  {' '.join(dataset.labels.to_primitive()) or '-'}")
    console.print(f"  files   {len(files)}, {human_size(sum(size or 0 for size in sizes.values()))}")
    console.print(f"  hash    {dataset.hash_value}")
    console.print(files_table(dataset, files, sizes))


def files_table(dataset, files, sizes) -> Table:
    table = Table(show_lines=False)
    table.add_column("file")
    table.add_column("size", justify="right")
    table.add_column("tags")
    table.add_column("labels")
    table.add_column("BLAKE3 hash")
    for file in files:
        table.add_row(
            dataset.path_in_dataset(file),
            human_size(sizes[file]),
            format_tags(file.tags),
            " ".join(file.labels.to_primitive()),
            file.hash_value,
        )
    return table


@dataset.command()
@click.argument("path")
@click.argument("cloud_path")
@_recursive_option
def upload(path: str, cloud_path: str, recursive: bool) -> None:
    """Upload the local dataset at PATH to CLOUD_PATH (gs://bucket/...), with its metadata."""
    from plait.resources import Dataset

    dataset = Dataset(path=path, recursive=recursive)
    total = sum(file.size_bytes or 0 for file in dataset.files)
    with byte_progress(f"Uploading {len(dataset)} files", total=total) as advance:
        uploaded = dataset.upload(cloud_path, progress=advance)
    console.print(f"Uploaded {len(dataset)} files ({human_size(total)}) to {uploaded}")
    console.print(f"Dataset hash {dataset.hash_value}")


@dataset.command()
@click.argument("cloud_path")
@click.argument("path")
@_recursive_option
def download(cloud_path: str, path: str, recursive: bool) -> None:
    """Download the dataset at CLOUD_PATH (gs:// path or signed URL) into the local directory PATH."""
    from plait.resources import Dataset

    dataset = Dataset(path=cloud_path, recursive=recursive)
    total = sum(file.size_bytes or 0 for file in dataset.files)
    with byte_progress(f"Downloading {len(dataset)} files", total=total) as advance:
        directory = dataset.download(path, progress=advance)
    console.print(f"Downloaded {len(dataset)} files ({human_size(total)}) to {directory}")


@dataset.command()
@click.argument("cloud_path")
@_recursive_option
@click.option(
    "--expiration",
    "-e",
    default="7d",
    show_default=True,
    callback=_duration,
    help="How long the URL lasts: seconds, or a number with s, m, h or d (at most 7d).",
)
def sign(cloud_path: str, recursive: bool, expiration: timedelta) -> None:
    """Print a signed URL for the dataset at CLOUD_PATH that anyone can read until it expires.

    Open it again with `plait dataset describe URL` or `Dataset(path=URL)`.
    """
    from plait.resources import Dataset

    click.echo(Dataset(path=cloud_path, recursive=recursive).generate_signed_url(expiration))
