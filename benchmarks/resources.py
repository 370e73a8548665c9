"""Resource-library measurements against DESIGN.md's targets (measured and printed, not asserted).

    python benchmarks/resources.py            # all three
    python benchmarks/resources.py --quick    # a 256 MiB file instead of 1 GiB

1. Datafile hashing of a 1 GiB file, as a fraction of raw ``blake3`` (mmap, max_threads=AUTO)
   hashing the same file in the same run (target: at least 90 %).
2. Building and hashing a Dataset of 10,000 small local files (target: at most 0.25 s), cold
   (no ``.plait`` file) and warm (hashes cached in ``.plait`` with each file's size and mtime).
3. Filtering 100,000 Datafiles on a tag (target: at most 0.2 s).

Each figure is the best of several runs, to measure the code rather than the machine's noise.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable

from blake3 import blake3

from plait.resources import Datafile, Dataset, FilterSet


def best_of(repeats: int, function: Callable[[], object], setup: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(repeats):
        if setup:
            setup()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def large_file_hashing(directory: str, size_bytes: int) -> None:
    path = os.path.join(directory, "large.bin")
    block = os.urandom(16 * 1024 * 1024)
    with open(path, "wb") as file:
        for _ in range(size_bytes // len(block)):
            file.write(block)

    def raw() -> None:
        hasher = blake3(max_threads=blake3.AUTO)
        hasher.update_mmap(path)
        hasher.digest()

    def plait() -> None:
        Datafile(path, ignore_stored_metadata=True).hash_value  # noqa: B018

    raw()  # warm the page cache so both read from memory
    raw_time = best_of(5, raw)
    plait_time = best_of(5, plait)
    gib = size_bytes / 2**30
    print(
        f"1. Datafile hash of a {gib:g} GiB file: {plait_time:.3f} s ({gib / plait_time:.2f} GiB/s); "
        f"raw blake3 {raw_time:.3f} s -> {raw_time / plait_time:.1%} of raw (target >= 90 %)"
    )
    os.remove(path)


def dataset_build_and_hash(directory: str, number_of_files: int) -> None:
    dataset_directory = os.path.join(directory, "dataset")
    os.makedirs(dataset_directory)
    for index in range(number_of_files):
        with open(os.path.join(dataset_directory, f"file-{index:05d}.csv"), "wb") as file:
            file.write(os.urandom(random.randint(200, 2000)))

    def build_and_hash() -> None:
        Dataset(path=dataset_directory).hash_value  # noqa: B018

    def remove_metadata() -> None:
        for name in (".plait", ".plait.lock"):
            if os.path.exists(os.path.join(dataset_directory, name)):
                os.remove(os.path.join(dataset_directory, name))

    cold = best_of(5, build_and_hash, setup=remove_metadata)
    Dataset(path=dataset_directory).update_local_metadata(include_files=True)
    warm = best_of(5, build_and_hash)
    print(
        f"2. Dataset of {number_of_files:,} local files, build + hash: cold {cold:.3f} s, "
        f"warm (hashes cached in .plait) {warm:.3f} s (target <= 0.25 s)"
    )


def filtering(number_of_files: int) -> None:
    files = FilterSet(
        Datafile(f"/benchmark/file-{index}.csv", ignore_stored_metadata=True, tags={"height": index % 200, "site": "a"})
        for index in range(number_of_files)
    )
    result = None

    def run() -> None:
        nonlocal result
        result = files.filter(tags__height__gt=100)

    elapsed = best_of(7, run)
    print(
        f"3. Filter {number_of_files:,} Datafiles on a tag (tags__height__gt=100 -> {len(result):,} matches): "
        f"{elapsed:.3f} s (target <= 0.2 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="hash a 256 MiB file instead of 1 GiB")
    arguments = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="plait-benchmark-")
    try:
        print(f"plait resource benchmarks on {os.cpu_count()} cores (best of several runs)")
        large_file_hashing(directory, (256 if arguments.quick else 1024) * 2**20)
        dataset_build_and_hash(directory, 10_000)
        filtering(100_000)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
