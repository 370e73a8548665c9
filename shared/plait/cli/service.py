"""``plait start`` (keep a local stack running for a service) and ``plait ask`` (ask a service a
question, on a running local stack or in the cloud, streaming what comes back)."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading

import click
from rich.markup import escape

from plait.cli.output import EventPrinter, console, error_console


@click.command()
@click.argument("service_directory", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--revision-tag", default="local", show_default=True, help="The revision tag to serve the service as.")
@click.option("--heartbeat-interval", default=5.0, show_default=True, help="Seconds between heartbeats.")
@click.option("--duration", type=float, help="Stop after this many seconds (default: run until interrupted).")
def start(service_directory: str, revision_tag: str, heartbeat_interval: float, duration: float | None) -> None:
    """Run the service in SERVICE_DIRECTORY on the local stack until interrupted (Ctrl-C).

    Ask it questions from another terminal with `plait ask SRUID ...`.
    """
    from plait.cloud.emulators.local_stack import LocalStack, forget_running_stack, record_running_stack
    from plait.cloud.transport.remote_bus import BusServer

    stopped = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopped.set())

    with LocalStack(service_directory, revision_tag=revision_tag, heartbeat_interval=heartbeat_interval) as stack:
        bus_server = BusServer(stack.bus).start()
        record_running_stack(stack, bus_server.url)
        try:
            console.print(f"[bold]{stack.sruid}[/bold] is running on the local stack.")
            console.print(f"   storage emulator  {stack.storage.url}")
            console.print(f"   local bus         {bus_server.url}")
            for name, url in stack.urls.items():
                console.print(f"   {name:<17} {url}")
            console.print(f"\nAsk it from another terminal:\n   plait ask {stack.sruid} --input-values '{{...}}'")
            console.print("Stop with Ctrl-C.")
            stopped.wait(duration)
        finally:
            forget_running_stack(stack.sruid)
            bus_server.stop()
    console.print("Local stack stopped.")


@click.command()
@click.argument("sruid")
@click.option("--input-values", help="Input values: JSON text, or the path of a JSON file.")
@click.option("--input-manifest", type=click.Path(exists=True, dir_okay=False), help="Input manifest: a JSON file.")
@click.option("--project", help="The Google Cloud project of a deployed service (default: GOOGLE_CLOUD_PROJECT).")
@click.option("--cloud", is_flag=True, help="Ask the deployed service even if a local stack serves this SRUID.")
@click.option("--timeout", default=86400.0, show_default=True, help="Seconds to wait for the answer.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the answer, not the events as they arrive.")
def ask(
    sruid: str,
    input_values: str | None,
    input_manifest: str | None,
    project: str | None,
    cloud: bool,
    timeout: float,
    quiet: bool,
) -> None:
    """Ask the service SRUID (namespace/name:revision_tag) a question and print its answer as JSON.

    A service running on a local stack (`plait start`) is asked there; otherwise the deployed
    service is asked through Google Cloud Pub/Sub. Events stream to stderr as they arrive.
    """
    from plait.cloud.emulators.local_stack import find_running_stack
    from plait.resources.child import Child
    from plait.resources.manifest import Manifest
    from plait.twine import load_values

    values = load_values(input_values, strand="input_values") if input_values is not None else None
    manifest = Manifest.from_file(input_manifest) if input_manifest else None

    local = None if cloud else find_running_stack(sruid)
    if local is not None:
        os.environ.update(
            {
                "PLAIT_TRANSPORT": "local",
                "PLAIT_LOCAL_BUS_URL": local["bus_url"],
                "STORAGE_EMULATOR_HOST": local["storage_emulator_host"],
            }
        )
        if local.get("credentials"):
            os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = local["credentials"]
        child = Child(sruid, {"name": "LocalBackend"})
        where = "the local stack"
    else:
        project = project or os.environ.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise click.ClickException(
                f"No local stack serves {sruid} and no Google Cloud project was given: start it with "
                "`plait start SERVICE_DIRECTORY`, or pass --project (or set GOOGLE_CLOUD_PROJECT)."
            )
        child = Child(sruid, {"name": "GCPPubSubBackend", "project_name": project})
        where = f"project {project}"

    printer = EventPrinter()
    if not quiet:
        error_console.print(f"Asking {sruid} on {where}...")
        logging.getLogger("plait.cloud.events.answers").setLevel(logging.DEBUG)
        logging.getLogger().addHandler(printer)
    try:
        answer = child.ask(
            input_values=values,
            input_manifest=manifest,
            subscribe_to_logs=not quiet,
            allow_local_files=local is not None,  # the local stack runs on this machine: it can read them
            handle_monitor_message=None
            if quiet
            else lambda data: error_console.print(f"   [magenta]monitor[/magenta] {escape(json.dumps(data))}"),
            timeout=timeout,
        )
    finally:
        logging.getLogger().removeHandler(printer)

    output_manifest = answer["output_manifest"]
    click.echo(
        json.dumps(
            {
                "output_values": answer["output_values"],
                "output_manifest": output_manifest.to_primitive() if output_manifest is not None else None,
            },
            indent=2,
        )
    )
