"""A Gradescope autograder: the zip (`setup.sh`, `run_autograder`, chainrule's wheel, the spec or class) and where it reads and writes.

Layout from Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): the zip's root holds `setup.sh`
(run once on Gradescope's Ubuntu image to install dependencies) and `run_autograder` (run per
submission, in /autograder, with the submission in /autograder/submission/; it must write
/autograder/results/results.json). The zip is unpacked into /autograder/source.

    autograder.zip
      setup.sh, run_autograder
      chainrule-autograder.json       what to grade against: {"spec": ...} or {"variants": ...}
      dist/chainrule-VERSION-py3-none-any.whl
      spec/NAME.toml                  a single spec, or
      class/manifest.json, class/vNNN/NAME-vNNN.toml   a class folder's specs and manifest

The zip is deterministic: entries sorted, timestamps fixed, permissions fixed, so the same spec or
class folder and the same chainrule give byte-identical bytes. The wheel is assembled here from
the installed package (no build tool, no network).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from chainrule.classroom.batch import MANIFEST, read_batch
from chainrule.core.spec import derivations_dir, resolve_path
from chainrule.core.spec_reader import load
from chainrule.errors import ChainruleError

CONFIG = "chainrule-autograder.json"
EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can store: no build time leaks into the bytes
MAX_SUBMISSION_FILES = 1000
ROOT_VARIABLE = "AUTOGRADER_ROOT"  # /autograder on Gradescope; a temporary folder in a test

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu image: install chainrule from the bundled wheel.
# Its dependencies (sympy, jinja2, lark, mpmath, tomli-w, tqdm) come from PyPI. chainrule needs
# Python 3.11 or later: choose an Ubuntu 24.04 base image (Python 3.12) in the autograder settings.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  apt-get update && apt-get install -y python3 python3-venv python3-pip
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "chainrule needs Python 3.11 or later; this image has $(python3 --version)" >&2; exit 1; }
python3 -m venv "$ROOT/venv" || { apt-get update && apt-get install -y python3-venv && python3 -m venv "$ROOT/venv"; }
"$ROOT/venv/bin/python" -m pip install --quiet "$ROOT"/source/dist/chainrule-*.whl
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this per submission: grade /autograder/submission, write /autograder/results/results.json.
# AUTOGRADER_ROOT (default /autograder) and CHAINRULE_PYTHON (default the venv setup.sh made) let it run elsewhere.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export AUTOGRADER_ROOT="$ROOT"
exec "${CHAINRULE_PYTHON:-$ROOT/venv/bin/python}" -m chainrule gradescope --run
"""


@dataclass(frozen=True)
class Places:
    """Where the autograder reads and writes, under one root (Gradescope's /autograder)."""

    root: Path

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def submission(self) -> Path:
        return self.root / "submission"

    @property
    def results(self) -> Path:
        return self.root / "results" / "results.json"


def places(environ=os.environ) -> Places:
    return Places(Path(environ.get(ROOT_VARIABLE) or "/autograder"))


# ---------------------------------------------------------------- building the zip

def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100000 | mode) << 16  # a regular file with these permissions
    info.create_system = 3  # Unix, so the permissions are honoured when unpacked
    return info


def zip_bytes(files: dict[str, bytes], executable: frozenset[str] = frozenset()) -> bytes:
    """A deterministic zip of `files` (name -> bytes): sorted, fixed time, 0644 (0755 for `executable`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            archive.writestr(_entry(name, 0o755 if name in executable else 0o644), files[name], compresslevel=9)
    return buffer.getvalue()


def _tree(folder: Path, prefix: str) -> dict[str, bytes]:
    return {f"{prefix}/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
            and p.suffix not in (".pyc", ".pyo")}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chainrule")
    except PackageNotFoundError:
        return "0.0.0"


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, requires

    try:
        return sorted(r for r in requires("chainrule") or () if "extra ==" not in r)
    except PackageNotFoundError:
        return ["jinja2>=3.1", "lark>=1.1.9", "mpmath>=1.3", "sympy>=1.12", "tomli-w>=1.0", "tqdm>=4.60"]


def wheel() -> tuple[str, bytes]:
    """chainrule as a wheel (file name, bytes), assembled from the running package, templates and bundled specs."""
    from chainrule.render.documents import templates_dir

    package = Path(__file__).resolve().parents[1]
    files = {name: data for name, data in _tree(package, "chainrule").items()
             if not name.startswith(("chainrule/templates/", "chainrule/derivations/"))}
    files.update(_tree(templates_dir(), "chainrule/templates"))
    files.update(_tree(derivations_dir(), "chainrule/derivations"))
    version = _version()
    info = f"chainrule-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", "Name: chainrule", f"Version: {version}", "Requires-Python: >=3.11",
                *(f"Requires-Dist: {r}" for r in _requirements())]
    files[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: chainrule\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\nchainrule = chainrule.cli:main\n"
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in sorted(files.items())]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    return f"chainrule-{version}-py3-none-any.whl", zip_bytes(files)


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ChainruleError(f"{path}: cannot read the file ({error.strerror})") from None


def contents(source: str, time_limit: float = 5.0, visibility: str = "visible") -> dict[str, bytes]:
    """The files of the autograder for `source`: a class folder (with manifest.json) or a spec."""
    config: dict = {"time_limit": time_limit, "visibility": visibility}
    files: dict[str, bytes] = {}
    folder = Path(source)
    if folder.is_dir():
        batch = read_batch(folder)  # a bad folder is one line, before anything is built
        files[f"class/{MANIFEST}"] = _read(folder / MANIFEST)
        for number, relative in sorted(batch.specs.items()):
            batch.spec_for(number, "", str(folder))  # the spec is there and matches its recorded hash
            files[f"class/{Path(relative).as_posix()}"] = _read(folder / relative)
        config["variants"] = "class"
    else:
        spec = load(source)  # a bad spec is one line, naming its file and key
        path = resolve_path(source)
        files[f"spec/{spec.name}.toml"] = _read(path)
        config["spec"] = f"spec/{spec.name}.toml"
    name, data = wheel()
    files[f"dist/{name}"] = data
    files[CONFIG] = (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()
    files["setup.sh"] = SETUP_SH.encode()
    files["run_autograder"] = RUN_AUTOGRADER.encode()
    return files


def autograder(source: str, time_limit: float = 5.0, visibility: str = "visible") -> bytes:
    """The autograder zip's bytes for a class folder or a spec (see the module's docstring)."""
    return zip_bytes(contents(source, time_limit, visibility), frozenset({"setup.sh", "run_autograder"}))


# ---------------------------------------------------------------- running on Gradescope

@dataclass(frozen=True)
class Config:
    """What the unpacked autograder grades against: one spec, or a class folder's variants."""

    spec: str | None
    variants: str | None
    time_limit: float
    visibility: str


def read_config(where: Places) -> Config:
    path = where.source / CONFIG
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        spec, variants = data.get("spec"), data.get("variants")
        if (spec is None) == (variants is None):
            raise ValueError("expected one of 'spec' and 'variants'")
        return Config(None if spec is None else str(where.source / spec),
                      None if variants is None else str(where.source / variants),
                      float(data.get("time_limit", 5.0)), str(data.get("visibility", "visible")))
    except OSError as error:
        raise ChainruleError(f"{path}: cannot read the autograder's settings ({error.strerror}); "
                             f"is {where.source} an unpacked `chainrule gradescope` zip?") from None
    except (ValueError, TypeError, AttributeError) as error:
        raise ChainruleError(f"{path}: not valid autograder settings ({error})") from None


def submitted_file(where: Places) -> Path:
    """The answers file of the submission: its one .toml file, or among several the one named answers.toml."""
    folder = where.submission
    if not folder.is_dir():
        raise ChainruleError(f"{folder}: no submission folder", path=str(folder))
    found = []
    for path in folder.rglob("*.toml"):  # lazily: a submission of a million files is not listed whole
        found.append(path)
        if len(found) > MAX_SUBMISSION_FILES:
            raise ChainruleError(f"more than {MAX_SUBMISSION_FILES} .toml files in the submission: upload one")
    regular = sorted(p for p in found if p.is_file() and not p.is_symlink())
    if len(regular) == 1:
        return regular[0]
    named = [p for p in regular if p.name == "answers.toml"]
    if len(named) == 1:
        return named[0]
    if not regular:
        raise ChainruleError("no answers file in the submission: upload one .toml file (from `chainrule template`)")
    listed = ", ".join(p.relative_to(folder).as_posix() for p in regular[:5])
    raise ChainruleError(f"{len(regular)} .toml files in the submission ({listed}): upload one, or name it answers.toml")
