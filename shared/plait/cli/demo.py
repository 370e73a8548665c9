"""``plait demo``: a full question round trip on the local stack, with no cloud account.

Starts the local stack for the example wind-shear service (storage emulator, the four functions
under functions-framework on 127.0.0.1, the in-process bus), uploads the example input dataset
(dataset finalisation hashes every object as it lands), asks the service a question and streams
what comes back (delivery acknowledgement, heartbeats, logs, monitor messages, the result),
shows the output manifest with its signed URLs and the finalised hashes of the outputs, checks
that every hash agrees, and shuts everything down.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from importlib import resources

import click
from rich.markup import escape

from plait.cli.output import EventPrinter, console, format_tags

EXAMPLE_SERVICE = "wind-shear"


@click.command()
@click.option("--keep", is_flag=True, help="Keep the demo's temporary directory (its path is printed).")
def demo(keep: bool) -> None:
    """Ask an example service a question on the local stack and show everything that comes back."""
    from plait.cloud.emulators.local_stack import LocalStack
    from plait.cloud.storage.client import GoogleCloudStorageClient
    from plait.resources import Dataset, Manifest

    workspace = tempfile.mkdtemp(prefix="plait-demo-")
    service_directory = os.path.join(workspace, EXAMPLE_SERVICE)
    with resources.as_file(resources.files("plait.examples").joinpath(EXAMPLE_SERVICE)) as source:
        shutil.copytree(source, service_directory, ignore=shutil.ignore_patterns("__pycache__"))

    printer = EventPrinter(to=console)
    answers_logger = logging.getLogger("plait.cloud.events.answers")
    started = time.perf_counter()
    try:
        with LocalStack(service_directory, heartbeat_interval=1) as stack:
            console.print(f"[bold]1. Local stack up[/bold] for [bold]{stack.sruid}[/bold]")
            console.print(
                f"   storage emulator  {stack.storage.url}  (buckets gs://{stack.datasets_bucket}, gs://plait-local-service)"
            )
            for name, url in stack.urls.items():
                console.print(f"   {name:<17} {url}  (functions-framework)")
            console.print("   messaging         in-process bus (CloudEvents in Eventarc's shape)")

            local = Dataset(path=os.path.join(service_directory, "data", "met_mast"))
            input_path = f"gs://{stack.datasets_bucket}/inputs/met_mast"
            local.upload(input_path)
            finalised = _wait_for_finalisation(GoogleCloudStorageClient(), input_path, len(local))
            console.print(
                f"\n[bold]2. Uploaded the input dataset[/bold] to {input_path}; dataset finalisation hashed each object:"
            )
            for file in local.files.order_by("tags.height_m"):
                cloud_hash = finalised.get(file.name)
                mark = "[green]matches[/green]" if cloud_hash == file.hash_value else "[red]DIFFERS[/red]"
                console.print(f"   {file.name:<22} {format_tags(file.tags):<40} {cloud_hash}  {mark}")

            console.print(f"\n[bold]3. Asking {stack.sruid}[/bold] (min. speed 0.5 m/s, input manifest {{met_mast}}):")
            answers_logger.setLevel(logging.DEBUG)  # its records reach the printer through the root logger
            logging.getLogger().addHandler(printer)
            answer = stack.child().ask(
                input_values={"minimum_speed_m_s": 0.5},
                input_manifest=Manifest(datasets={"met_mast": input_path}),
                handle_monitor_message=lambda data: console.print(
                    f"   [magenta]monitor[/magenta] {escape(json.dumps(data))}"
                ),
                timeout=120,
            )
            logging.getLogger().removeHandler(printer)

            values, manifest = answer["output_values"], answer["output_manifest"]
            console.print("   [cyan]event[/cyan]   result received")
            console.print(f"\n[bold]4. Answer[/bold]: shear exponent alpha = {values['shear_exponent']:.4f}")
            for height, speed in zip(values["heights_m"], values["mean_speeds_m_s"], strict=True):
                console.print(f"   {height:>5} m  {speed:.3f} m/s")

            profile = manifest.get_dataset("wind_profile")
            console.print("\n[bold]5. Output manifest[/bold] (datasets replaced by signed URLs, V4, 7 days):")
            console.print(f"   wind_profile -> {escape(profile.path[:110])}...")
            output_path = f"gs://{stack.datasets_bucket}/outputs/{_question_of(profile)}/wind_profile"
            output_hashes = _wait_for_finalisation(GoogleCloudStorageClient(), output_path, len(profile))
            all_match = all(finalised.get(file.name) == file.hash_value for file in local.files)
            for file in profile.files.order_by("name"):
                with open(file.local_path, "rb"):
                    pass  # read through its signed URL
                match = output_hashes.get(file.name) == file.hash_value
                all_match = all_match and match
                mark = "[green]matches[/green]" if match else "[red]DIFFERS[/red]"
                console.print(f"   {file.name:<22} {format_tags(file.tags)[:40]:<40} {file.hash_value}  {mark}")
            console.print(f"   (finalised in {output_path})")

        if not all_match:
            raise click.ClickException("A finalised hash differs from the hash of the bytes: something is wrong.")
        console.print(
            f"\n[bold green]Round trip complete[/bold green] in {time.perf_counter() - started:.1f} s; every hash "
            "matches and the local stack is shut down."
        )
    finally:
        logging.getLogger().removeHandler(printer)
        if keep:
            console.print(f"Kept the demo's files in {workspace}")
        else:
            shutil.rmtree(workspace, ignore_errors=True)


def _wait_for_finalisation(storage, directory: str, count: int, timeout: float = 30) -> dict[str, str]:
    """The finalised hash of each object under ``directory``, once all ``count`` objects have one."""
    deadline = time.monotonic() + timeout
    while True:
        hashes = {
            item.cloud_path.rsplit("/", 1)[1]: item.custom_metadata.get("plait__hash")
            for item in storage.list_objects(directory)
            if item.custom_metadata.get("plait__finalised_generation") == str(item.generation)
        }
        if len(hashes) >= count or time.monotonic() > deadline:
            return hashes
        time.sleep(0.1)


def _question_of(dataset) -> str:
    """The analysis id in a signed output dataset's files' paths (``outputs/<id>/<key>/...``)."""
    for file in dataset.files:
        parts = file.path.split("?", 1)[0].split("/")
        if "outputs" in parts:
            return parts[parts.index("outputs") + 1]
    raise click.ClickException("The output dataset is not where outputs go.")
