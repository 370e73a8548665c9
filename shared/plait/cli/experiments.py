"""``plait experiments ...``, ``plait extensions ...`` and ``plait tasks ...``: the experiment-management
API (``plait.experiments``) on the command line.

Every command takes ``--location`` (default: ``PLAIT_EXPERIMENTS_LOCATION``, else
``~/.local/share/plait/experiments``). Lists are tables (``--json`` for machine-readable output);
transfers show progress bars.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from plait.cli.output import byte_progress, console, error_console, human_size

_location_option = click.option(
    "--location",
    "-l",
    envvar="PLAIT_EXPERIMENTS_LOCATION",
    help="A local directory or gs://bucket/prefix (default: $PLAIT_EXPERIMENTS_LOCATION, else "
    "~/.local/share/plait/experiments).",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _api(location: str | None, timeout: float | None = None) -> Any:
    from plait.experiments import API, DEFAULT_TIMEOUT

    return API(location, timeout=timeout or DEFAULT_TIMEOUT)


def _moment(_ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | dt.datetime | None:
    """``YYYY-MM-DD`` (a whole UTC day) or an ISO 8601 datetime (naive = UTC)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date or datetime: use e.g. 2024-01-31 or 2024-01-31T09:30:00.", param=param
        ) from None


def _when(moment: dt.datetime | None) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}" if moment else "-"


def _experiment_primitive(experiment: Any, include_files: bool = False) -> dict[str, Any]:
    primitive = {
        "eid": experiment.eid,
        "uuid": str(experiment.uuid),
        "title": experiment.title,
        "description": experiment.description,
        "tags": experiment.tags,
        "created_at": experiment.created_at.isoformat(),
        "updated_at": experiment.updated_at.isoformat(),
        "path": experiment.path,
    }
    if include_files:
        primitive["files"] = [{"name": name, "modified": modified.isoformat()} for name, modified in experiment.files]
    return primitive


# -- experiments --


@click.group()
def experiments() -> None:
    """Create, find, tag and remove experiments, and move their files."""


@experiments.command()
@click.argument("title")
@click.option("--description", "-d", default="", help="What the experiment is (at most 5000 characters).")
@click.option("--tag", "-t", "tags", multiple=True, help="A tag (repeat for more): letters, digits, - _ : /.")
@_location_option
def create(title: str, description: str, tags: tuple[str, ...], location: str | None) -> None:
    """Create an experiment called TITLE; print its EID."""
    experiment = _api(location).create_experiment(title, description, tags=list(tags))
    console.print(f"Created experiment [bold]{experiment.eid}[/bold] ({experiment.uuid}).")


@experiments.command()
@click.argument("search", required=False)
@click.option("--tag", "-t", "tags", multiple=True, help="Only experiments with any of these tags (repeatable).")
@click.option("--since", callback=_moment, help="Created at or after this date or datetime (UTC).")
@click.option("--until", callback=_moment, help="Created at or before this date or datetime (UTC).")
@click.option("--limit", "-n", default=10, show_default=True, help="At most this many (up to 500).")
@click.option("--offset", default=0, show_default=True, help="Skip this many first.")
@click.option("--archived", is_flag=True, help="Include experiments tagged __archived__.")
@_json_option
@_location_option
def find(
    search: str | None,
    tags: tuple[str, ...],
    since: Any,
    until: Any,
    limit: int,
    offset: int,
    archived: bool,
    as_json: bool,
    location: str | None,
) -> None:
    """List experiments whose title or EID contains SEARCH (any case), newest first."""
    found = _api(location).find_experiments(
        search, limit=limit, offset=offset, tags=list(tags), start_datetime=since, end_datetime=until,
        include_archived=archived,
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps([_experiment_primitive(experiment) for experiment in found], indent=2))
        return
    table = Table()
    for column in ("EID", "title", "tags", "created (UTC)", "updated (UTC)"):
        table.add_column(column)
    for experiment in found:
        table.add_row(
            experiment.eid,
            escape(experiment.title),
            escape(" ".join(experiment.tags)),
            _when(experiment.created_at),
            _when(experiment.updated_at),
        )
    console.print(table)
    console.print(f"{len(found)} experiment{'s' if len(found) != 1 else ''}.")


@experiments.command()
@click.argument("eid")
@_json_option
@_location_option
def show(eid: str, as_json: bool, location: str | None) -> None:
    """Show the experiment EID: its metadata and files."""
    experiment = _api(location).get_experiment_by_eid(eid)
    if as_json:
        click.echo(json.dumps(_experiment_primitive(experiment, include_files=True), indent=2))
        return
    console.print(f"[bold]{experiment.eid}[/bold]  {escape(experiment.title)}")
    console.print(f"  uuid         {experiment.uuid}")
    console.print(f"  tags         {escape(' '.join(experiment.tags)) or '-'}")
    console.print(f"  created      {_when(experiment.created_at)} UTC")
    console.print(f"  updated      {_when(experiment.updated_at)} UTC")
    console.print(f"  location     {experiment.path}")
    if experiment.description:
        console.print(f"  description  {escape(experiment.description)}")
    table = Table()
    table.add_column("file")
    table.add_column("modified (UTC)")
    for name, modified in experiment.files:
        table.add_row(escape(name), _when(modified))
    console.print(table)


@experiments.command()
@click.argument("eid")
@click.argument("tags", nargs=-1, required=True)
@_location_option
def tag(eid: str, tags: tuple[str, ...], location: str | None) -> None:
    """Add TAGS to the experiment EID (tags it has already are left as they are)."""
    experiment = _api(location).get_experiment_by_eid(eid)
    experiment.add_tags(list(tags))
    console.print(f"{experiment.eid} is tagged {escape(' '.join(experiment.tags))}")


@experiments.command()
@click.argument("eid")
@click.argument("tag")
@_location_option
def untag(eid: str, tag: str, location: str | None) -> None:
    """Remove TAG from the experiment EID."""
    experiment = _api(location).get_experiment_by_eid(eid)
    experiment.remove_tag(tag)
    console.print(f"{experiment.eid} is tagged {escape(' '.join(experiment.tags)) or '(nothing)'}")


@experiments.command()
@click.argument("eid")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--name", help="The name to give the file in the experiment (one file only).")
@_location_option
def upload(eid: str, files: tuple[str, ...], name: str | None, location: str | None) -> None:
    """Upload FILES to the experiment EID (replacing files of the same names)."""
    import os

    if name is not None and len(files) > 1:
        raise click.UsageError("--name renames one file: upload one file at a time with it.")
    experiment = _api(location).get_experiment_by_eid(eid)
    for path in files:
        size = os.path.getsize(path)
        with byte_progress(f"Uploading {os.path.basename(path)}", total=size) as advance:
            experiment.upload_file(path, name=name, progress=advance)
        console.print(f"Uploaded {escape(name or os.path.basename(path))} ({human_size(size)}) to {experiment.eid}")


@experiments.command()
@click.argument("eid")
@click.argument("file_name")
@click.argument("destination", default=".", type=click.Path(file_okay=False))
@_location_option
def download(eid: str, file_name: str, destination: str, location: str | None) -> None:
    """Download FILE_NAME of the experiment EID into the directory DESTINATION."""
    experiment = _api(location).get_experiment_by_eid(eid)
    with byte_progress(f"Downloading {file_name}", total=None) as advance:
        path = experiment.download_file(file_name, destination, progress=advance)
    console.print(f"Downloaded {escape(path)}")


@experiments.command(name="rm")
@click.argument("eid")
@click.argument("files", nargs=-1)
@click.option("--yes", "-y", is_flag=True, help="Remove a whole experiment without asking.")
@_location_option
def remove(eid: str, files: tuple[str, ...], yes: bool, location: str | None) -> None:
    """Remove FILES from the experiment EID (all or none); with no FILES, remove the whole experiment."""
    api = _api(location)
    if files:
        api.get_experiment_by_eid(eid).remove_files(list(files))
        console.print(f"Removed {len(files)} file{'s' if len(files) != 1 else ''} from {eid}.")
        return
    experiment = api.get_experiment_by_eid(eid)
    if not yes:
        click.confirm(f"Remove experiment {eid} ({experiment.title!r}) and all its files?", abort=True)
    api.remove_experiment_by_eid(eid)
    console.print(f"Removed experiment {eid}.")


# -- extensions --


@click.group()
def extensions() -> None:
    """Register services as extensions, list them, and run their actions."""


@extensions.command(name="list")
@_json_option
@_location_option
def list_extensions(as_json: bool, location: str | None) -> None:
    """List the registered extensions, their actions and parameters."""
    found = _api(location).get_extensions()
    if as_json:
        click.echo(json.dumps([extension.to_primitive() for extension in found], indent=2))
        return
    table = Table()
    for column in ("extension", "service", "authors", "action", "parameters", "experiment variable"):
        table.add_column(column)
    for extension in found:
        for action in extension.actions:
            parameters = " ".join(
                f"{parameter.name}{'' if parameter.required else '?'}:{parameter.data_type}"
                for parameter in action.parameters
            )
            table.add_row(
                extension.name,
                extension.sruid,
                escape(extension.authors),
                action.name,
                parameters or "-",
                action.experiment_variable_name or "-",
            )
    console.print(table)


@extensions.command()
@click.argument("service_directory", type=click.Path(exists=True, file_okay=False))
@click.option("--revision-tag", default="local", show_default=True, help="The service revision to ask.")
@click.option("--project", help="A deployed service's Google Cloud project (default: a local stack serves it).")
@click.option("--service-bucket", help="The deployed service's bucket (its question records: task status).")
@click.option("--name", help="The extension's name (default: the service's name).")
@click.option("--authors", help="Who provides it (default: the service's namespace).")
@_location_option
def register(
    service_directory: str,
    revision_tag: str,
    project: str | None,
    service_bucket: str | None,
    name: str | None,
    authors: str | None,
    location: str | None,
) -> None:
    """Register the service in SERVICE_DIRECTORY as an extension."""
    backend = {"name": "GCPPubSubBackend", "project_name": project} if project else None
    extension = _api(location).register_extension(
        service_directory, revision_tag=revision_tag, backend=backend, service_bucket=service_bucket, name=name,
        authors=authors,
    )  # fmt: skip
    console.print(f"Registered extension [bold]{extension.name}[/bold] ({extension.sruid}).")


@extensions.command()
@click.argument("name")
@_location_option
def unregister(name: str, location: str | None) -> None:
    """Forget the extension NAME (its tasks stay readable)."""
    _api(location).unregister_extension(name)
    console.print(f"Unregistered extension {name}.")


@extensions.command()
@click.argument("name")
@click.argument("action", default="run")
@click.option("--parameters", "-p", default="{}", help="The action's parameters: JSON text, or a .json file.")
@click.option("--timeout", type=float, help="Seconds to wait for the answer (default 600).")
@_location_option
def run(name: str, action: str, parameters: str, timeout: float | None, location: str | None) -> None:
    """Run ACTION (default: run) of the extension NAME; print its output.

    The exit status is the action's return code: 0 on success.
    """
    from plait.twine import load_values

    values = load_values(parameters, strand="input_values")
    extension_action = _api(location, timeout).get_extension(name).get_action(action)
    error_console.print(f"Running {name} {action}...")
    result = extension_action.execute(values)
    error_console.print(f"Task {result.taskId}")
    if result.stdout:
        click.echo(result.stdout)
    if result.returnCode != 0:
        click.echo(result.stderr.split("\n\nRemote traceback", 1)[0], err=True)
        sys.exit(result.returnCode)


# -- tasks --


@click.group()
def tasks() -> None:
    """List, show and cancel tasks (the questions extensions were asked)."""


def _task_primitive(task: Any) -> dict[str, Any]:
    return {
        "task_id": str(task.task_id),
        "extension_name": task.extension_name,
        "action_name": task.action_name,
        "sruid": task.sruid,
        "parameters": task.parameters,
        "username": task.username,
        "experiment_uuid": str(task.experiment_uuid) if task.experiment_uuid else None,
        "status": task.status.value,
        "received_at": task.received_at.isoformat(),
        "started_at": task.started_at.isoformat() if task.started_at else None,
        "ended_at": task.ended_at.isoformat() if task.ended_at else None,
        "result_code": task.result_code,
        "stdout": task.stdout,
        "stderr": task.stderr,
        "logs": task.logs,
    }


_STATUS_STYLES = {"SUCCESS": "green", "FAILURE": "red", "REVOKED": "yellow"}


@tasks.command(name="list")
@click.option("--extension", help="Only this extension's tasks.")
@click.option("--action", help="Only this action's tasks.")
@click.option("--experiment", help="Only tasks on this experiment (its EID).")
@click.option("--user", help="Only tasks this user asked.")
@click.option("--since", callback=_moment, help="Received at or after this date or datetime (UTC).")
@click.option("--until", callback=_moment, help="Received at or before this date or datetime (UTC).")
@click.option("--limit", "-n", default=10, show_default=True, help="At most this many (up to 500).")
@click.option("--offset", default=0, show_default=True, help="Skip this many first.")
@_json_option
@_location_option
def list_tasks(
    extension: str | None,
    action: str | None,
    experiment: str | None,
    user: str | None,
    since: Any,
    until: Any,
    limit: int,
    offset: int,
    as_json: bool,
    location: str | None,
) -> None:
    """List tasks, newest first."""
    api = _api(location)
    experiment_uuid = api.get_experiment_by_eid(experiment).uuid if experiment else None
    found = api.get_tasks(
        limit=limit, offset=offset, extension_name=extension, experiment_uuid=experiment_uuid, action_name=action,
        username=user, start_date=since, end_date=until,
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps([_task_primitive(task) for task in found], indent=2))
        return
    table = Table()
    for column in ("task", "extension", "action", "user", "status", "code", "received (UTC)", "ended (UTC)"):
        table.add_column(column)
    for task in found:
        style = _STATUS_STYLES.get(task.status.value, "cyan")
        table.add_row(
            str(task.task_id),
            task.extension_name,
            task.action_name,
            escape(task.username),
            f"[{style}]{task.status.value}[/{style}]",
            "-" if task.result_code is None else str(task.result_code),
            _when(task.received_at),
            _when(task.ended_at),
        )
    console.print(table)


@tasks.command(name="show")
@click.argument("task_id")
@_json_option
@_location_option
def show_task(task_id: str, as_json: bool, location: str | None) -> None:
    """Show the task TASK_ID: its parameters, status, output, error and logs."""
    task = _api(location).get_task(task_id)
    if as_json:
        click.echo(json.dumps(_task_primitive(task), indent=2))
        return
    rows: list[tuple[str, Callable[[], str]]] = [
        ("extension", lambda: f"{task.extension_name} {task.action_name} ({task.sruid})"),
        ("status", lambda: task.status.value + ("" if task.result_code is None else f" (code {task.result_code})")),
        ("asked by", lambda: task.username),
        ("received", lambda: f"{_when(task.received_at)} UTC"),
        ("ended", lambda: f"{_when(task.ended_at)} UTC" if task.ended_at else "-"),
        ("experiment", lambda: str(task.experiment_uuid) if task.experiment_uuid else "-"),
        ("parameters", lambda: json.dumps(task.parameters)),
    ]
    console.print(f"[bold]Task {task.task_id}[/bold]")
    for label, value in rows:
        console.print(f"  {label:<11} {escape(value())}")
    for label, text in (("output", task.stdout), ("error", task.stderr), ("logs", "\n".join(task.logs))):
        if text:
            console.print(f"[bold]{label}[/bold]\n{escape(text)}")


@tasks.command()
@click.argument("task_id")
@click.option("--reason", default="", help="Why (sent to the service).")
@_location_option
def cancel(task_id: str, reason: str, location: str | None) -> None:
    """Cancel the task TASK_ID: its service stops answering the question."""
    task = _api(location).cancel_task(task_id, reason=reason)
    console.print(f"Cancelled task {task.task_id} ({task.status.value}).")
