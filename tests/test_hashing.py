"""BLAKE3 hashes as DESIGN.md defines them, checked against values computed independently here."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import subprocess
import sys

import pytest
from blake3 import blake3

from plait import hashing


def expected_hash(data: bytes) -> str:
    """Standard base64 of the 32-byte BLAKE3 digest, computed without plait."""
    return base64.b64encode(blake3(data).digest()).decode("ascii")


def test_hash_of_hello_is_standard_base64_of_the_blake3_digest():
    value = hashing.hash_bytes(b"hello")

    assert value == expected_hash(b"hello")
    # The known BLAKE3 digest of b"hello", written out so a change of algorithm is caught too.
    assert base64.b64decode(value).hex() == "ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f"
    assert len(base64.b64decode(value)) == 32


def test_hash_of_empty_bytes_is_the_blake3_of_nothing():
    assert hashing.hash_bytes(b"") == expected_hash(b"")
    assert base64.b64decode(hashing.hash_bytes(b"")).hex() == (
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    )


def test_encode_digest_is_standard_base64_with_padding():
    assert hashing.encode_digest(b"\xfb" * 32) == base64.b64encode(b"\xfb" * 32).decode()
    assert "+" in hashing.encode_digest(b"\xfb" * 32)  # standard, not URL-safe, alphabet


def test_file_hash_equals_hash_of_its_bytes(tmp_path):
    path = tmp_path / "small.txt"
    data = b"some data\nover two lines"
    path.write_bytes(data)

    assert hashing.hash_file(path) == expected_hash(data)
    assert hashing.hash_file(str(path), size=len(data)) == hashing.hash_bytes(data)


def test_empty_file_hash_equals_hash_of_no_bytes(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert hashing.hash_file(path) == expected_hash(b"")


def test_small_file_hash_equals_streamed_hash(tmp_path):
    data = os.urandom(100_000)
    path = tmp_path / "small.bin"
    path.write_bytes(data)

    assert hashing.hash_file(path) == hashing.hash_stream(io.BytesIO(data), chunk_size=4096)
    assert hashing.hash_file(path) == expected_hash(data)


def test_large_memory_mapped_file_hash_equals_streamed_hash(tmp_path):
    data = os.urandom(5 * 1024 * 1024 + 17)
    assert len(data) > hashing.MMAP_THRESHOLD
    path = tmp_path / "large.bin"
    path.write_bytes(data)

    with open(path, "rb") as file:
        streamed = hashing.hash_stream(file)

    assert hashing.hash_file(path) == streamed == expected_hash(data)


def test_file_exactly_at_the_memory_map_threshold_hashes_correctly(tmp_path):
    data = os.urandom(hashing.MMAP_THRESHOLD)
    path = tmp_path / "threshold.bin"
    path.write_bytes(data)
    assert hashing.hash_file(path) == expected_hash(data)


def test_file_that_grew_since_it_was_measured_is_hashed_whole(tmp_path):
    data = os.urandom(3 * hashing.CHUNK_SIZE)
    path = tmp_path / "grown.bin"
    path.write_bytes(data)

    # A size smaller than the real one (the file grew after its size was read).
    assert hashing.hash_file(path, size=10) == expected_hash(data)


def test_streaming_hasher_gives_same_value_however_the_data_is_split():
    data = os.urandom(10_000)
    hasher = hashing.StreamingHasher()
    for start in range(0, len(data), 333):
        hasher.update(data[start : start + 333])

    assert hasher.value() == expected_hash(data)
    assert hasher.hexdigest() == blake3(data).hexdigest()


def test_streaming_hasher_can_stand_in_for_a_writable_file():
    hasher = hashing.StreamingHasher()
    assert hasher.write(b"hel") == 3
    hasher.write(b"lo")
    assert hasher.value() == expected_hash(b"hello")


def test_dataset_hash_is_hash_of_sorted_file_hashes_joined_by_newlines():
    file_hashes = [hashing.hash_bytes(content) for content in (b"c", b"a", b"b")]
    expected = expected_hash("\n".join(sorted(file_hashes)).encode())

    assert hashing.hash_file_hashes(file_hashes) == expected
    assert hashing.hash_file_hashes(reversed(file_hashes)) == expected
    assert hashing.hash_file_hashes(sorted(file_hashes)) == expected


def test_dataset_hash_changes_when_a_file_changes():
    hashes = [hashing.hash_bytes(b"a"), hashing.hash_bytes(b"b")]
    changed = [hashing.hash_bytes(b"a"), hashing.hash_bytes(b"B")]
    assert hashing.hash_file_hashes(hashes) != hashing.hash_file_hashes(changed)


def test_empty_dataset_hash_is_hash_of_empty_string():
    assert hashing.hash_file_hashes([]) == expected_hash(b"")


def test_manifest_hash_is_hash_of_sorted_key_equals_hash_lines():
    dataset_hashes = {"zeta": hashing.hash_bytes(b"z"), "alpha": hashing.hash_bytes(b"a")}
    lines = [f"alpha={dataset_hashes['alpha']}", f"zeta={dataset_hashes['zeta']}"]

    assert hashing.hash_dataset_hashes(dataset_hashes) == expected_hash("\n".join(lines).encode())
    assert hashing.hash_dataset_hashes(dict(reversed(list(dataset_hashes.items())))) == expected_hash(
        "\n".join(lines).encode()
    )


def test_manifest_hash_depends_on_keys_not_only_dataset_hashes():
    value = hashing.hash_bytes(b"x")
    assert hashing.hash_dataset_hashes({"a": value}) != hashing.hash_dataset_hashes({"b": value})


def test_canonical_json_sorts_keys_and_drops_whitespace():
    assert hashing.canonical_json({"b": 1, "a": [1, 2, {"d": None, "c": "é"}]}) == (
        '{"a":[1,2,{"c":"é","d":null}],"b":1}'
    )


def test_hash_json_is_hash_of_canonical_json_utf8():
    value = {"b": 1.5, "a": ["x", "ü"]}
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashing.hash_json(value) == expected_hash(canonical.encode("utf-8"))


def test_hash_json_is_independent_of_key_order():
    first = {"a": 1, "b": {"x": [1, 2], "y": None}}
    second = {"b": {"y": None, "x": [1, 2]}, "a": 1}
    assert hashing.hash_json(first) == hashing.hash_json(second)
    assert hashing.hash_json(first) != hashing.hash_json({"a": 1, "b": {"x": [2, 1], "y": None}})


def test_hash_json_is_identical_in_a_separate_process():
    value = {"z": [1, 2.5, "three", None, True], "a": {"nested": "ünïcode", "n": -7}}
    code = "import json, sys; from plait import hashing; print(hashing.hash_json(json.loads(sys.argv[1])))"
    # A different hash seed would change any hash built on Python's hash() or set order.
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(value)],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )

    assert result.stdout.strip() == hashing.hash_json(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, {"a": [math.nan]}])
def test_hash_json_rejects_nan_and_infinity(value):
    with pytest.raises(ValueError):
        hashing.hash_json(value)
