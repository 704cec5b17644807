"""`make bench-instructions`: user-space instructions per placement request, counted by callgrind.

Wall-clock figures on a shared machine move by ±15 % between runs; an instruction count does
not. Each server runs under `valgrind --tool=callgrind` with counting switched on only once it
is up and warmed, then N placements are sent at 32 connections; the count is divided by N.
The load client's own cost is counted the same way (two runs, the difference per request). Needs
valgrind (Debian: `apt install valgrind`); takes a minute or two.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOAD = [sys.executable, "-c", "import asyncio, sys; sys.path.insert(0, sys.argv[1]); from bench.run import load, "
        "place_bodies, MKP; asyncio.run(load(f'http://127.0.0.1:{sys.argv[2]}/api/checkout/pvt/orders?sc=1&"
        "affiliateId=MKP', place_bodies(sys.argv[4], int(sys.argv[3])), 32, MKP))", str(ROOT)]


def load(port: int, n: int, prefix: str) -> None:
    subprocess.run([*LOAD, str(port), str(n), prefix], check=True, cwd=ROOT)


def summary(path: Path) -> int:
    match = re.search(r"^summary: (\d+)", path.read_text(), re.M)
    assert match, f"no summary in {path}"
    return int(match.group(1))


def server(command: list[str], ready: str, n: int, tmp: Path, name: str) -> float:
    """Instructions per request of a server started with ``command``; ``ready`` is the stderr or
    stdout text that says it listens (its port follows, or is in a JSON 'url')."""
    out = tmp / f"{name}.out"
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                             f"--callgrind-out-file={tmp / name}.cg", *command],
                            cwd=ROOT, stdout=out.open("w"), stderr=subprocess.STDOUT)
    try:
        port = 0
        while not port:
            time.sleep(0.5)
            text = out.read_text()
            found = re.search(ready, text, re.M)
            if found:
                port = int(found.group(1))
            if proc.poll() is not None:
                raise SystemExit(f"{name} did not start:\n{text}")
        load(port, 50, f"warm-{name}-")
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
        load(port, n, f"{name}-")
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    dumps = sorted(tmp.glob(f"{name}.cg.*"))
    assert dumps, f"callgrind wrote no dump for {name}"
    return summary(dumps[0]) / n


def client(port: int, tmp: Path) -> float:
    counts = []
    for n in (100, 400):
        out = tmp / f"client-{n}.cg"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *LOAD, str(port), str(n),
                        f"client{n}-"], check=True, cwd=ROOT, capture_output=True)
        counts.append(summary(out))
    return (counts[1] - counts[0]) / 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("bench-instructions needs valgrind (Debian: apt install valgrind)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        moisim = server([sys.executable, "-m", "simulator", "serve", "--port", "0", "--db", str(tmp / "m.db")],
                        r'"url":\s*"http://127\.0\.0\.1:(\d+)"', args.requests, tmp, "moisim")
        bare_cmd = [sys.executable, "-m", "bench.bare", "place"]
        bare = server(bare_cmd, r"^(\d+)$", args.requests, tmp, "bare")
        floor = server([sys.executable, "-m", "bench.floor", str(tmp / "f.db")], r"^(\d+)$", args.requests, tmp, "floor")
        helper = subprocess.Popen(bare_cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            assert helper.stdout is not None
            load_client = client(int(helper.stdout.readline()), tmp)
        finally:
            helper.terminate()
    print(f"user-space instructions per placement request ({args.requests} requests, 32 connections):")
    print(f"  moisim serve          {moisim / 1e6:6.2f} M")
    print(f"  bare aiohttp handler  {bare / 1e6:6.2f} M")
    print(f"  the load client       {load_client / 1e6:6.2f} M")
    print(f"  floor (bench/floor.py){floor / 1e6:6.2f} M   (validated and durable, nothing else)")
    print(f"  moisim / bare: {bare / moisim:.0%} of the work per request; with the client on its own core the "
          f"bench's ratio is at most {min(1.0, load_client / moisim):.0%}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
