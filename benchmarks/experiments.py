"""Experiment search against DESIGN.md's target (measured and printed, not asserted).

    python benchmarks/experiments.py                  # 10,000 experiments in a temporary local directory
    python benchmarks/experiments.py --count 2000     # fewer
    python benchmarks/experiments.py --emulator 1000  # also: 1,000 experiments on the storage emulator

1. Creates the experiments through the API, one after another (titles, descriptions, 1-3 tags
   from a pool of 40, one in 20 archived), and reports the creation rate.
2. Times ``find_experiments`` — by search text, by tags, by a creation-date window, all three
   together, and everything with ``limit=500`` — best of 5, against the target of 1 s on local
   storage. "cold" is a fresh ``API`` each time (it reads and parses the whole index);
   "warm" reuses one ``API`` (it reads only what was appended to the index since its last search).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import tempfile
import time
from collections.abc import Callable

from plait.experiments import API

TARGET_SECONDS = 1.0
WORDS = [
    "wind",
    "solar",
    "blade",
    "pitch",
    "mast",
    "north",
    "south",
    "tunnel",
    "turbine",
    "wake",
    "yaw",
    "shear",
    "gust",
    "array",
    "inflow",
]
TAGS = [f"{kind}:{n}" for kind in ("site", "campaign", "sensor", "rig") for n in range(10)]


def best_of(repeats: int, function: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def create(api: API, count: int, seed: int = 1) -> list:
    rng = random.Random(seed)
    created = []
    for n in range(count):
        title = f"{' '.join(rng.sample(WORDS, 3)).capitalize()} run {n}"
        tags = rng.sample(TAGS, rng.randint(1, 3)) + (["__archived__"] if n % 20 == 0 else [])
        created.append(api.create_experiment(title, f"Experiment {n}: " + " ".join(rng.choices(WORDS, k=12)), tags))
    return created


def measure_searches(location: str, created: list, label: str, repeats: int = 5) -> None:
    middle = created[len(created) // 2].created_at
    window = (middle, created[min(len(created) - 1, len(created) // 2 + len(created) // 10)].created_at)
    searches = {
        "search 'blade'": {"search": "blade"},
        "tags site:3 or rig:7": {"tags": ["site:3", "rig:7"]},
        "10% date window": {"start_datetime": window[0], "end_datetime": window[1]},
        "all three together": {"search": "blade", "tags": ["site:3", "rig:7"], "start_datetime": window[0]},
        "everything, limit=500": {"limit": 500},
    }
    warm_api = API(location)
    print(f"find_experiments over {len(created):,} experiments ({label}), best of {repeats}:")
    for name, arguments in searches.items():
        cold, found = best_of(repeats, lambda arguments=arguments: API(location).find_experiments(**arguments))
        warm, _ = best_of(repeats, lambda arguments=arguments: warm_api.find_experiments(**arguments))
        verdict = "meets" if cold <= TARGET_SECONDS else "MISSES"
        print(
            f"  {name:<24} cold {cold * 1000:7.1f} ms   warm {warm * 1000:7.1f} ms   "
            f"({len(found)} returned; {verdict} the {TARGET_SECONDS:g} s target)"
        )


def local(count: int) -> None:
    directory = tempfile.mkdtemp(prefix="plait-experiments-benchmark-")
    try:
        api = API(directory)
        start = time.perf_counter()
        created = create(api, count)
        elapsed = time.perf_counter() - start
        print(
            f"Created {count:,} experiments on local storage in {elapsed:.1f} s "
            f"({count / elapsed:,.0f} per second, {elapsed / count * 1000:.2f} ms each)."
        )
        measure_searches(directory, created, "local storage")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def emulator(count: int) -> None:
    from plait.cloud.emulators.storage import StorageEmulator

    with contextlib.ExitStack() as stack:
        storage = stack.enter_context(StorageEmulator(buckets=("plait-benchmark",)))
        stack.enter_context(storage.environment())
        location = "gs://plait-benchmark/experiments"
        start = time.perf_counter()
        created = create(API(location), count)
        elapsed = time.perf_counter() - start
        print(
            f"Created {count:,} experiments on the storage emulator in {elapsed:.1f} s ({count / elapsed:,.0f} per "
            "second; the emulator answers one request at a time)."
        )
        measure_searches(location, created, "storage emulator", repeats=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="Experiments on local storage (default 10,000).")
    parser.add_argument("--emulator", type=int, default=0, help="Also measure this many on the storage emulator.")
    arguments = parser.parse_args()
    local(arguments.count)
    if arguments.emulator:
        emulator(arguments.emulator)


if __name__ == "__main__":
    main()
