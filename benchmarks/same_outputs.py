"""Before/after check for speed work: `solve --json --no-pdf`, `solve` (text) and the `.tex`, byte for byte.

Runs every spec in derivations/ and a few generated ones (ReLU, tanh + softmax, sigmoid, several
steps) with one source tree and records the outputs in a folder; `--compare` reruns with another
source tree and names every file that differs.
Usage:
  python benchmarks/same_outputs.py --src /tmp/base729/src --record /tmp/before
  python benchmarks/same_outputs.py --src src --record /tmp/after --compare /tmp/before
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scale import write_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def generated(folder: Path) -> list[Path]:
    """Small generated networks whose exact values still print (the bundled ones cover the rest)."""
    relu = lambda sizes: ["relu"] * (len(sizes) - 2) + ["identity"]  # noqa: E731
    paths = [
        write_spec(folder, "g_relu_2441", (2, 4, 4, 1), relu((2, 4, 4, 1)), "squared_error", 4, 1),
        write_spec(folder, "g_tanh_483", (4, 8, 3), ["tanh", "softmax"], "softmax_cross_entropy", 4, 3, classes=True),
        write_spec(folder, "g_relu_2_32_32_1", (2, 32, 32, 1), relu((2, 32, 32, 1)), "squared_error", 8, 7),
        write_spec(folder, "g_tanh_3_4_4_2", (3, 4, 4, 2), ["tanh", "tanh", "softmax"], "softmax_cross_entropy",
                   3, 11, classes=True),
        write_spec(folder, "g_sigmoid_231", (2, 3, 1), ["sigmoid", "sigmoid"], "binary_cross_entropy", 3, 4,
                   classes=True),
    ]
    for path, steps in zip(paths[3:], (3, 4)):  # several steps: the decimal steps after the first
        path.write_text(path.read_text(encoding="utf-8").replace("learning_rate = 0.01\n",
                                                                 f"learning_rate = 0.1\nsteps = {steps}\n"),
                        encoding="utf-8")
    return paths


def record(source: Path, specs: list[Path], into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(source))
    for spec in specs:
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, "-m", "chainrule", "solve", str(spec), "--no-pdf", "--out", out]
            as_json = subprocess.run([*command, "--json"], env=env, capture_output=True)
            text = subprocess.run(command, env=env, capture_output=True)
            (into / f"{spec.stem}.json").write_bytes(as_json.stdout + f"\nexit {as_json.returncode}\n".encode())
            (into / f"{spec.stem}.txt").write_bytes(text.stdout.replace(out.encode(), b"OUT")
                                                    + f"\nexit {text.returncode}\n".encode())
            for tex in Path(out).glob("*.tex"):
                (into / tex.name).write_bytes(tex.read_bytes())
        print(f"recorded {spec.stem}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", required=True, help="the source tree's src/ folder")
    parser.add_argument("--record", required=True, type=Path, help="folder for this tree's outputs")
    parser.add_argument("--compare", type=Path, help="a folder recorded earlier: report every difference")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        specs = sorted((ROOT / "derivations").glob("*.toml")) + generated(Path(folder))
        record(Path(args.src).resolve(), specs, args.record)
    if args.compare:
        names = sorted({p.name for p in args.compare.iterdir()} | {p.name for p in args.record.iterdir()})
        differ = [n for n in names if not (args.compare / n).exists() or not (args.record / n).exists()
                  or (args.compare / n).read_bytes() != (args.record / n).read_bytes()]
        print(f"{len(names) - len(differ)} of {len(names)} files byte-identical")
        for name in differ:
            print(f"DIFFERS: {name}")
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
