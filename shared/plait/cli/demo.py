"""``plait demo``: a dataset's round trip through cloud storage on this machine, no account needed.

Starts the embedded storage emulator on 127.0.0.1, makes an example dataset of tagged
measurement files, hashes it, uploads it, signs it, reopens it read-only from its signed URL,
downloads it again and checks every hash survived the trip, then shuts everything down.
(The service round trip joins this demo when the Cloud Functions exist.)
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
import time

import click

from plait.cli.output import byte_progress, console, format_tags, human_size

DEMO_BUCKET = "plait-demo-datasets"


def make_example_dataset(directory: str, number_of_files: int = 6, rows: int = 2000) -> None:
    """Write a small dataset of wind-speed measurements, one CSV per sensor height, with metadata."""
    from plait.resources import Datafile, Dataset

    os.makedirs(directory, exist_ok=True)
    for index in range(number_of_files):
        height = 40 + 20 * index
        path = os.path.join(directory, f"wind-speed-{height}m.csv")
        with Datafile(path, mode="w", tags={"height_m": height, "sensor": f"anemometer-{index}"}) as (datafile, f):
            writer = csv.writer(f)
            writer.writerow(["seconds", "wind_speed_m_s"])
            for second in range(rows):
                speed = 8 + 0.02 * height + 3 * math.sin(second / 60 + index)
                writer.writerow([second, f"{speed:.3f}"])
            datafile.add_labels("wind", "raw" if index % 2 else "calibrated")
    dataset = Dataset(path=directory, name="wind-measurements", tags={"site": "north-ridge"}, labels="met-mast")
    dataset.update_local_metadata()


@click.command()
@click.option("--keep", is_flag=True, help="Keep the demo's temporary directory (its path is printed).")
def demo(keep: bool) -> None:
    """Run a dataset round trip on the local stack: hash, upload, sign, reopen, download, verify."""
    from plait.cli.dataset import files_table
    from plait.cloud.emulators.credentials import make_local_service_account_key
    from plait.cloud.emulators.storage import StorageEmulator
    from plait.resources import Dataset

    workspace = tempfile.mkdtemp(prefix="plait-demo-")
    started = time.perf_counter()
    previous_credentials = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = make_local_service_account_key(
        os.path.join(workspace, "credentials")
    )

    try:
        with StorageEmulator(buckets=(DEMO_BUCKET,)) as emulator, emulator.environment():
            console.print(f"[bold]1. Local stack[/bold]: storage emulator on {emulator.url}, bucket gs://{DEMO_BUCKET}")

            source = os.path.join(workspace, "wind-measurements")
            make_example_dataset(source)
            dataset = Dataset(path=source)
            sizes = {file: file.size_bytes for file in dataset.files}
            console.print(
                f"\n[bold]2. Example dataset[/bold] {dataset.name!r}: {len(dataset)} files, "
                f"{human_size(sum(sizes.values()))}, tags {format_tags(dataset.tags)}"
            )
            console.print(files_table(dataset, dataset.files.order_by("tags.height_m"), sizes))
            local_hash = dataset.hash_value
            console.print(f"   dataset hash (BLAKE3): {local_hash}")

            cloud_path = f"gs://{DEMO_BUCKET}/datasets/wind-measurements"
            with byte_progress("Uploading", total=sum(sizes.values())) as advance:
                dataset.upload(cloud_path, progress=advance)
            cloud_dataset = Dataset(path=cloud_path)
            console.print(
                f"\n[bold]3. Uploaded[/bold] to {cloud_path}: {len(cloud_dataset)} objects with plait__* metadata"
            )
            console.print(f"   hash from cloud metadata:  {cloud_dataset.hash_value}")

            signed_url = cloud_dataset.generate_signed_url()
            console.print(f"\n[bold]4. Signed URL[/bold] (V4, 7 days):\n   {signed_url[:120]}...")
            shared = Dataset(path=signed_url)
            console.print(f"   reopened read-only from the URL: {len(shared)} files, tags {format_tags(shared.tags)}")

            downloaded = Dataset(path=shared.download(os.path.join(workspace, "downloaded")))
            for file in downloaded.files:
                file.reset_hash()  # hash the downloaded bytes themselves
            round_trip_hash = downloaded.hash_value
            console.print(f"\n[bold]5. Downloaded[/bold] through the signed URLs to {downloaded.path}")
            console.print(f"   hash of downloaded bytes:  {round_trip_hash}")

            if not (local_hash == cloud_dataset.hash_value == shared.hash_value == round_trip_hash):
                raise click.ClickException("The dataset's hash changed on its round trip: something is wrong.")
            console.print(
                f"\n[bold green]Every hash matches.[/bold green] Round trip took "
                f"{time.perf_counter() - started:.1f} s; the emulator is shut down."
            )
    finally:
        if previous_credentials is None:
            os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
        else:
            os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = previous_credentials
        if keep:
            console.print(f"Kept the demo's files in {workspace}")
        else:
            import shutil

            shutil.rmtree(workspace, ignore_errors=True)
