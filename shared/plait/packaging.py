"""The source archive Cloud Functions deploys (``plait package``), built reproducibly.

The archive holds, at its root::

    main.py            the four entry points, re-exported from plait.functions.main
    requirements.txt   plait's runtime dependencies, pinned to the versions installed here
    plait/             the plait package as installed (with plait/functions; without plait/examples)
    service/           the service directory: plait.yaml, the app, its twine and configuration

It is built from the *installed* plait (a wheel in site-packages, or an editable install of a
checkout), never by looking for a checkout. ``PLAIT_APP_DIRECTORY`` names ``service`` (Terraform
sets it; ``main.py`` resolves a relative value against its own directory, which is the working
directory on Cloud Functions anyway).

The same inputs always give the same bytes, so a content hash names the archive and Terraform
redeploys only when something in it changed: entries are sorted by name, every entry has the
timestamp 1980-01-01 00:00:00, mode 0644 and "made on Unix", no directory entries are written, and
entries are *stored* (not compressed). Compression would make the bytes depend on the zlib build
doing it (zlib and zlib-ng deflate differently), so two machines could build different archives
from the same files; the archive is small, and Cloud Functions' upload and build do not care.

Left out of the service directory: version-control and editor directories, virtualenvs, caches,
``build/``, ``dist/``, ``*.egg-info``, compiled Python, ``.env`` files (secrets belong in Secret
Manager, not in source), and the archive being written. Input data
kept beside the app (e.g. ``data/``) is included unless excluded with ``exclude`` (``--exclude``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import importlib.metadata
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass

from plait.exceptions import InvalidInputException

#: Where the service directory goes in the archive (``PLAIT_APP_DIRECTORY`` is this path).
APP_DIRECTORY_IN_ARCHIVE = "service"

#: Every entry's timestamp: the earliest a zip file can hold.
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)

#: Every entry's Unix mode: a regular file, rw-r--r--.
FILE_MODE = 0o100644

#: Names (of files or directories, at any depth) never put in the archive.
EXCLUDED_NAMES = frozenset(
    {
        "__pycache__",
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        ".idea",
        ".vscode",
        ".DS_Store",
        ".terraform",
        ".env",
        "node_modules",
        "build",
        "dist",
    }
)

#: File name patterns never put in the archive.
EXCLUDED_PATTERNS = ("*.pyc", "*.pyo", "*.egg-info", "*.swp", "*~")

#: plait's sub-packages that stay out of the archive (the example services; ``plait demo`` only).
EXCLUDED_SUBPACKAGES = ("examples",)

#: plait's sub-packages an editable install may map from elsewhere in a checkout (setup.py).
MAPPED_SUBPACKAGES = ("functions",)

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class SourceArchive:
    """A built archive: where it is, its SHA-256 (hex, as Terraform's ``filesha256``) and its entries."""

    path: str
    sha256: str
    size: int
    entries: tuple[str, ...]
    service_name: str


def build_source_archive(
    service_directory: str = ".", output: str | None = None, exclude: tuple[str, ...] | list[str] = ()
) -> SourceArchive:
    """Build the deployable archive of the service in ``service_directory``.

    :param service_directory: the directory holding the service's ``plait.yaml``
    :param output: the archive's path; if it is an existing directory (or ends with a path separator),
        the archive is written inside it as ``<service name>-<first 16 hex digits of its SHA-256>.zip``;
        if None, ``build/<service name>.zip`` in the current directory
    :param exclude: more glob patterns to leave out of the service directory, matched against each
        path relative to it (``data/*``) and against each file or directory name (``*.parquet``)
    :raise plait.exceptions.InvalidInputException: if the directory is not a service that can be packaged
    """
    service_directory = os.path.abspath(service_directory)
    service_name = _check_service(service_directory)

    name_by_hash = False
    if output is None:
        output = os.path.join("build", f"{service_name}.zip")
    elif output.endswith(("/", os.sep)) or os.path.isdir(output):
        name_by_hash = True
    output = os.path.abspath(output)

    entries = archive_entries(service_directory, exclude=tuple(exclude), leave_out=(output,))
    content = write_zip(entries)
    sha256 = hashlib.sha256(content).hexdigest()
    if name_by_hash:
        output = os.path.join(output, f"{service_name}-{sha256[:16]}.zip")

    os.makedirs(os.path.dirname(output), exist_ok=True)
    temporary = f"{output}.partial"
    with open(temporary, "wb") as file:
        file.write(content)
    os.replace(temporary, output)
    return SourceArchive(
        path=output, sha256=sha256, size=len(content), entries=tuple(sorted(entries)), service_name=service_name
    )


def archive_entries(
    service_directory: str, exclude: tuple[str, ...] = (), leave_out: tuple[str, ...] = ()
) -> dict[str, bytes]:
    """Every entry of the archive, by its name in the archive (``/``-separated)."""
    entries: dict[str, bytes] = {
        "main.py": main_module_source().encode("utf-8"),
        "requirements.txt": pinned_requirements().encode("utf-8"),
    }
    for name, path in plait_package_files():
        entries[name] = _read(path)
    leave_out_real = {os.path.realpath(path) for path in leave_out}
    for relative, path in _walk(service_directory, exclude):
        if os.path.realpath(path) in leave_out_real or path.endswith(".zip.partial"):
            continue
        entries[f"{APP_DIRECTORY_IN_ARCHIVE}/{relative}"] = _read(path)
    return entries


def write_zip(entries: dict[str, bytes]) -> bytes:
    """The zip file holding ``entries``, the same bytes for the same entries on any machine."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # Unix, so the mode below is honoured, whatever builds it
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, entries[name])
    return buffer.getvalue()


def main_module_source() -> str:
    """``main.py`` for the archive's root: re-exports the entry points of ``plait.functions.main``."""
    from plait.functions.main import ENTRY_POINTS

    names = sorted(ENTRY_POINTS)
    return (
        '"""The Cloud Functions entry points of a plait service (written by `plait package`; do not edit).\n'
        "\n"
        "Cloud Functions imports this module and calls the function its entry point names. The service\n"
        f"(plait.yaml, the app, its twine) is in {APP_DIRECTORY_IN_ARCHIVE}/ beside this file; a relative\n"
        "PLAIT_APP_DIRECTORY is resolved against this file's directory, and the plait package beside this\n"
        'file is the one imported.\n"""\n'
        "\n"
        "import os as _os\n"
        "import sys as _sys\n"
        "\n"
        "_here = _os.path.dirname(_os.path.abspath(__file__))\n"
        "if _sys.path[:1] != [_here]:  # functions-framework appends it; the archive's plait must win\n"
        "    _sys.path.insert(0, _here)\n"
        f'_app_directory = _os.environ.get("PLAIT_APP_DIRECTORY") or "{APP_DIRECTORY_IN_ARCHIVE}"\n'
        "if not _os.path.isabs(_app_directory):\n"
        '    _os.environ["PLAIT_APP_DIRECTORY"] = _os.path.join(_here, _app_directory)\n'
        "\n"
        f"from plait.functions.main import {', '.join(names)}  # noqa: E402\n"
        "\n"
        f"__all__ = {json.dumps(names)}\n"
    )


def pinned_requirements() -> str:
    """``requirements.txt``: each runtime dependency of the installed plait distribution, pinned to the
    version installed here (``name==version``), sorted. Extras (``dev``) are left out; a dependency
    whose marker limits it to other platforms, and so is not installed here, keeps its marker.

    :raise plait.exceptions.InvalidInputException: if a runtime dependency is not installed
    """
    distribution = importlib.metadata.distribution("plait")
    lines = {}
    for requirement in distribution.requires or ():
        requirement_text, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        match = _REQUIREMENT_NAME.match(requirement_text)
        if match is None:
            continue
        name = match.group(1)
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            if marker.strip():  # not for this platform: keep its range and marker
                lines[_normalise(name)] = f"{requirement_text.strip()}; {marker.strip()}"
                continue
            raise InvalidInputException(
                f"plait's dependency {name!r} is not installed, so it cannot be pinned: reinstall plait "
                "(pip install plait) and package again."
            ) from None
        line = f"{_normalise(name)}=={version}"
        lines[_normalise(name)] = f"{line}; {marker.strip()}" if marker.strip() else line
    header = (
        f"# Runtime dependencies of plait {distribution.version}, pinned to the versions `plait package` ran with.\n"
    )
    return header + "".join(f"{lines[name]}\n" for name in sorted(lines))


def plait_package_files() -> list[tuple[str, str]]:
    """The installed plait package's files, as (name in the archive, path on disk), sorted.

    From a wheel, ``plait/`` is one directory in site-packages; from an editable install of a
    checkout, ``plait.functions`` lives in the checkout's ``functions/`` and is added under
    ``plait/functions/``. ``plait.examples`` is left out.
    """
    import plait

    files: dict[str, str] = {}
    roots = [("plait", os.path.dirname(os.path.abspath(plait.__file__)))]
    for subpackage in MAPPED_SUBPACKAGES:
        module = importlib.import_module(f"plait.{subpackage}")
        directory = os.path.dirname(os.path.abspath(module.__file__))
        if os.path.realpath(directory) != os.path.realpath(os.path.join(roots[0][1], subpackage)):
            roots.append((f"plait/{subpackage}", directory))
    for prefix, root in roots:
        for relative, path in _walk(root, ()):
            if prefix == "plait" and relative.split("/", 1)[0] in EXCLUDED_SUBPACKAGES:
                continue
            files[f"{prefix}/{relative}"] = path
    if "plait/functions/main.py" not in files:
        raise InvalidInputException("The installed plait has no plait/functions/main.py; reinstall plait.")
    return sorted(files.items())


def _check_service(service_directory: str) -> str:
    """The service's name, after checking everything it needs is inside ``service_directory``."""
    from plait.configuration import ServiceConfiguration

    if not os.path.isdir(service_directory):
        raise InvalidInputException(f"{service_directory} is not a directory: give the service's directory.")
    configuration_path = os.path.join(service_directory, "plait.yaml")
    if not os.path.isfile(configuration_path):
        raise InvalidInputException(
            f"{service_directory} has no plait.yaml: give the directory of a service (with plait.yaml, the app "
            "and its twine)."
        )
    configuration = ServiceConfiguration.from_file(configuration_path)
    for key in ("app_source_path", "twine_path", "app_configuration_path"):
        value = getattr(configuration, key)
        if value is None:
            continue
        path = os.path.realpath(value)
        if os.path.commonpath([path, os.path.realpath(service_directory)]) != os.path.realpath(service_directory):
            raise InvalidInputException(
                f"plait.yaml's {key} ({value}) is outside the service directory, so it would not be in the archive: "
                "move it into the service directory."
            )
        if not os.path.exists(path):
            raise InvalidInputException(f"plait.yaml's {key} ({value}) does not exist.")
    return configuration.name


def _walk(root: str, exclude: tuple[str, ...]) -> list[tuple[str, str]]:
    """Files under ``root`` as (``/``-separated relative path, path), sorted, without excluded ones."""
    found = []
    for directory, directories, files in os.walk(root):
        relative_directory = os.path.relpath(directory, root)
        relative_directory = "" if relative_directory == "." else relative_directory.replace(os.sep, "/") + "/"
        directories[:] = sorted(name for name in directories if not _excluded(name, relative_directory + name, exclude))
        for name in sorted(files):
            relative = relative_directory + name
            if not _excluded(name, relative, exclude):
                found.append((relative, os.path.join(directory, name)))
    return sorted(found)


def _excluded(name: str, relative: str, exclude: tuple[str, ...]) -> bool:
    if name in EXCLUDED_NAMES or any(fnmatch.fnmatchcase(name, pattern) for pattern in EXCLUDED_PATTERNS):
        return True
    return any(
        fnmatch.fnmatchcase(relative, pattern.strip("/")) or fnmatch.fnmatchcase(name, pattern) for pattern in exclude
    )


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _normalise(name: str) -> str:
    """A distribution name as PyPI normalises it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()
