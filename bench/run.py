"""`make bench`: throughput and latency of moisim next to bare aiohttp, measured in one run.

1. Placement: PUT the seed's order (a new marketplaceOrderGroup each time) at 32 concurrent
   connections, against moisim (schema validation, routing, durable SQLite WAL, journal on)
   and against a bare aiohttp handler that parses the same body and answers a similar document;
   beside them the floor (bench/floor.py), a placement that is validated and durable and
   nothing else, which shows what the stack itself allows.
2. Callback delivery: invoice callbacks waiting in the durable outbox (queued by the domain
   while no server ran, as after a crash) delivered by `moisim serve` to a loopback receiver,
   every attempt judged and recorded, against a bare aiohttp client posting the same bodies to
   the same receiver with the dispatcher's concurrency. Then, for the whole path, the seller's
   invoice requests over HTTP with their callbacks, from the first request to the last arrival.

With the placement figures come each server's and this load client's CPU per request, from /proc:
the busiest thread's figure is the most requests a second that process can answer on one CPU, so
it says which process a throughput is the limit of.

Each server runs in its own process; the load comes from this one. Figures are printed as
measured; compare the ratios, not the absolute numbers, across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import seeds  # noqa: E402

MKP = {"X-VTEX-API-AppKey": "moisim-marketplace", "X-VTEX-API-AppToken": "moisim-marketplace-secret"}
SELLER = {"X-VTEX-API-AppKey": "moisim-seller", "X-VTEX-API-AppToken": "moisim-seller-secret"}
ADMIN = {"X-VTEX-API-AppKey": "moisim-admin", "X-VTEX-API-AppToken": "moisim-admin-secret"}


def start_baseline(module: str, argument: str) -> tuple[subprocess.Popen, int]:
    """``python -m bench.bare place|receiver`` or ``python -m bench.floor DB``: each prints its port."""
    proc = subprocess.Popen([sys.executable, "-m", module, argument], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def start_moisim(db: str, clock: str = "real") -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "serve", "--port", "0", "--db", db, "--clock", clock],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stderr is not None
    while True:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit("moisim did not start")
        if "moisim ready" in line:
            # keep reading its log, or a full pipe would stall the server mid-run
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, int(json.loads(line)["url"].rsplit(":", 1)[1])


def memory(proc: subprocess.Popen) -> tuple[float, float] | None:
    """(resident MiB now, peak resident MiB) of a process, from /proc (Linux); None elsewhere."""
    try:
        status = Path(f"/proc/{proc.pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def memory_line(name: str, readings: list[tuple[int, tuple[float, float] | None]]) -> str:
    """Resident memory of one server after each count of requests it has answered, and its peak."""
    if any(r is None for _, r in readings):
        return f"  {name:22} memory: not measured (no /proc on this system)"
    after = ", ".join(f"{r[0]:.1f} after {n}" for n, r in readings if r)
    (first_n, first), (last_n, last) = readings[1], readings[-1]  # from the first round on: past warm-up
    assert first and last
    growth = (last[0] - first[0]) / max(1, last_n - first_n) * 1000
    return (f"  {name:22} resident MiB: {after}; peak {last[1]:.1f}; "
            f"{growth:+.2f} MiB per 1000 more requests after the first round")


def _ticks(stat: str) -> int:
    """User plus system clock ticks from a /proc ``stat`` line (the command name, which may hold
    spaces and parentheses, ends at the last ")")."""
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_seconds(pid: int) -> tuple[float, dict[str, float]] | None:
    """(CPU seconds of the whole process, of each of its threads by id) so far, from /proc (Linux);
    None elsewhere."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        total = _ticks(Path(f"/proc/{pid}/stat").read_text())
        threads = {}
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):  # a thread that ended as it was read
                threads[task.name] = _ticks((task / "stat").read_text()) / tick
    except OSError:
        return None
    return total / tick, threads


def cpu_per_request(before: tuple[float, dict[str, float]], after: tuple[float, dict[str, float]],
                    requests: int) -> tuple[float, float]:
    """(CPU seconds of the whole process, of its busiest thread) per request between two readings.
    The busiest thread of a server is its event loop's: one CPU is all it can have."""
    busiest = max((spent - before[1].get(tid, 0.0) for tid, spent in after[1].items()), default=0.0)
    return (after[0] - before[0]) / requests, busiest / requests


def cpu_line(name: str, per_request: list[tuple[float, float]]) -> str:
    """A process's CPU per request over the recorded rounds (medians, µs): all of it and its busiest
    thread's. 1 / the busiest thread's figure is the most that process can answer a second."""
    if not per_request:
        return f"  {name:22} CPU: not measured (no /proc on this system)"
    process = statistics.median_high(p for p, _ in per_request) * 1e6
    thread = statistics.median_high(t for _, t in per_request) * 1e6
    if not thread:
        return f"  {name:22} CPU: too little to read"
    busiest = "" if name == CLIENT else f", {thread:4.0f} µs of it on its busiest thread"
    return f"  {name:22} CPU per request: {process:4.0f} µs{busiest} (so at most {1e6 / thread:5.0f} req/s)"


def paired(moisim: list[float], bare: list[float]) -> str:
    """Each interleaved round's ratio and their median: the two figures of a round were measured
    seconds apart, so a neighbour's burst moves both or neither far less often than it moves the
    best of each; a steadier view of a noisy machine than the best-of figure above it."""
    ratios = [m / b for m, b in zip(moisim, bare, strict=True)]
    median = statistics.median_high(ratios)
    return f"  each round, moisim / bare: {', '.join(f'{r:.0%}' for r in ratios)} (median {median:.0%})"


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=15)


async def load(url: str, bodies: list[bytes], concurrency: int, headers: dict[str, str], method: str = "PUT",
               urls: list[str] | None = None) -> dict[str, float]:
    latencies: list[float] = []
    queue = list(range(len(bodies)))
    queue.reverse()
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers={**headers, "Content-Type": "application/json"}) as s:
        async def worker() -> None:
            nonlocal errors
            while queue:
                i = queue.pop()
                t0 = time.perf_counter()
                async with s.request(method, urls[i] if urls else url, data=bodies[i]) as resp:
                    await resp.read()
                    if resp.status >= 300:
                        errors += 1
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {"rps": len(bodies) / elapsed, "p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000, "errors": errors, "n": len(bodies)}


def place_bodies(prefix: str, n: int, endpoint: str = "http://127.0.0.1:9/mkp") -> list[bytes]:
    return [json.dumps(seeds.place_body(f"{prefix}{i}", endpoint)).encode() for i in range(n)]


BARE, FLOOR = "bare aiohttp handler", "floor (bench/floor.py)"
CLIENT = "load client (this one)"  # its CPU per request while it loads the bare handler, which it alone limits


async def bench_placement(n: int, concurrency: int, rounds: int) -> None:
    print(f"\n== Placement: {n} orders per round, {concurrency} connections, best of {rounds} rounds ==")
    with tempfile.TemporaryDirectory() as tmp:
        servers = {BARE: start_baseline("bench.bare", "place"), "moisim": start_moisim(str(Path(tmp) / "bench.db")),
                   FLOOR: start_baseline("bench.floor", str(Path(tmp) / "floor.db"))}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        memories: dict[str, list[tuple[int, tuple[float, float] | None]]] = {name: [] for name in servers}
        cpus: dict[str, list[tuple[float, float]]] = {name: [] for name in [*servers, CLIENT]}
        try:
            async def place_all(bodies: list[bytes], record: bool) -> None:
                for name, (proc, port) in servers.items():  # interleaved, so all see the same machine
                    before, client_before = cpu_seconds(proc.pid), time.process_time()
                    figures = await load(f"http://127.0.0.1:{port}/api/checkout/pvt/orders?sc=1&affiliateId=MKP",
                                         bodies, concurrency, MKP)
                    after, client = cpu_seconds(proc.pid), (time.process_time() - client_before) / len(bodies)
                    if record:
                        results[name].append(figures)
                        if before and after:
                            cpus[name].append(cpu_per_request(before, after, len(bodies)))
                        if name == BARE:
                            cpus[CLIENT].append((client, client))
                    memories[name].append((answered, memory(proc)))

            answered = 200
            await place_all(place_bodies("warm-", answered), record=False)
            for r in range(rounds):
                answered += n
                await place_all(place_bodies(f"r{r}-", n), record=True)
        finally:
            for proc, _port in servers.values():
                stop(proc)
    best = {name: max(rs, key=lambda r: r["rps"]) for name, rs in results.items()}
    for name, figures in best.items():
        print(f"  {name:22} {figures['rps']:8.0f} req/s   p50 {figures['p50']:6.2f} ms   p99 {figures['p99']:6.2f} ms"
              f"   errors {figures['errors']}")
    ratio = best["moisim"]["rps"] / best[BARE]["rps"]
    print(f"  moisim / bare throughput: {ratio:.0%}  (target >= 50%)   moisim p99 {best['moisim']['p99']:.1f} ms "
          f"(target < 50 ms)")
    print(f"  all rounds (req/s): moisim {[round(r['rps']) for r in results['moisim']]}, "
          f"bare {[round(r['rps']) for r in results[BARE]]}, floor {[round(r['rps']) for r in results[FLOOR]]}")
    print(paired([r["rps"] for r in results["moisim"]], [r["rps"] for r in results[BARE]]))
    print(f"  floor / bare throughput: {best[FLOOR]['rps'] / best[BARE]['rps']:.0%}: what the stack itself allows "
          "(validated and durable, nothing else; see bench/floor.py)")
    for name, per_request in cpus.items():
        print(cpu_line(name, per_request))
    for name, readings in memories.items():
        print(memory_line(name, readings))


def queue_invoice_callbacks(db: str, endpoint: str, n: int) -> None:
    """N authorized orders past their window, each with an invoice callback waiting in the outbox,
    written by the domain straight to the database while no server runs."""
    from dataclasses import replace

    from simulator.clock import VirtualClock, iso
    from simulator.config import load_config
    from simulator.domain.service import OrderService
    from simulator.http.app import open_store
    from simulator.scheduler import VIRTUAL_NOW

    config = replace(load_config(None), store_path=db)
    store, clock = open_store(config), VirtualClock()
    service = OrderService(config, store, clock)
    for i in range(n):
        service.place(config.account, "MKP", "1", seeds.place_body(f"q-{i}", endpoint))
        service.authorize(config.account, f"MKP-q-{i}-01", seeds.authorization_body(f"q-{i}"))
    clock.advance(1800)
    while service.fire_due_timers(1000)[0]:  # every window closes, a batch at a time as the server does
        pass
    for i in range(n):
        service.invoice(config.account, f"MKP-q-{i}-01", seeds.invoice_body(f"nf-{i}", 132))
    store.set_meta(VIRTUAL_NOW, iso(clock.now()) or "")
    store.close()


async def deliver_from_outbox(db: str, n: int, rport: int) -> tuple[float, float, int, float | None]:
    """Start moisim on a database whose outbox holds n callbacks; (callbacks/s first to last
    arrival, callbacks/s from process start, attempts recorded as accepted, peak resident MiB)."""
    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{rport}/_reset"):
            pass
        start = time.perf_counter()
        sim, sport = start_moisim(db, clock="virtual")  # the dispatcher resumes the queued callbacks
        try:
            while True:  # ask the receiver, not moisim, so polling adds no load to what is measured
                async with s.get(f"http://127.0.0.1:{rport}/_count") as resp:
                    if await resp.json() >= n:
                        break
                await asyncio.sleep(0.005)
            from_start = time.perf_counter() - start
            async with s.get(f"http://127.0.0.1:{rport}/_span") as resp:
                span = await resp.json()
            await asyncio.sleep(0.2)  # let the last verdicts commit, then check every one was recorded
            async with s.get(f"http://127.0.0.1:{sport}/_sim/journal?direction=out&limit={n}", headers=ADMIN) as resp:
                recorded = [e for e in (await resp.json())["entries"] if e["outcome"] == "accepted"]
            used = memory(sim)
        finally:
            stop(sim)
    return (n - 1) / span, n / from_start, len(recorded), used[1] if used else None


async def bench_delivery(n: int, rounds: int) -> None:
    print(f"\n== Callback delivery: {n} invoice callbacks from the durable outbox to a loopback receiver, "
          f"best of {rounds} rounds ==")
    moisim: list[tuple[float, float, int, float | None]] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        receiver, rport = start_baseline("bench.bare", "receiver")
        endpoint = f"http://127.0.0.1:{rport}/mkp"
        bodies = [json.dumps({"type": "Output", "invoiceNumber": f"nf-{i}", "invoiceValue": 132}).encode()
                  for i in range(n)]
        try:
            for r in range(rounds):  # interleaved, so both see the same machine
                db = str(Path(tmp) / f"outbox-{r}.db")
                await asyncio.to_thread(queue_invoice_callbacks, db, endpoint, n)
                moisim.append(await deliver_from_outbox(db, n, rport))
                result = await load("", bodies, 16, {}, method="POST",
                                    urls=[f"{endpoint}/api/oms/pvt/orders/q-{i}/invoice" for i in range(n)])
                bare.append(result["rps"])
        finally:
            stop(receiver)
    best = max(moisim, key=lambda m: m[0])
    print(f"  bare aiohttp client      {max(bare):8.0f} callbacks/s")
    print(f"  moisim dispatcher        {best[0]:8.0f} callbacks/s (first to last arrival; {best[1]:.0f}/s counting "
          f"start-up from a cold process)")
    print(f"  moisim / bare: {best[0] / max(bare):.0%}  (target >= 50%)   attempts recorded as accepted: "
          f"{min(m[2] for m in moisim)}/{n} (worst round)")
    print(f"  all rounds (callbacks/s): moisim {[round(m[0]) for m in moisim]}, bare {[round(b) for b in bare]}")
    print(paired([m[0] for m in moisim], bare))
    peaks = [m[3] for m in moisim if m[3] is not None]
    if peaks:
        print(f"  moisim peak resident MiB while delivering: {', '.join(f'{p:.1f}' for p in peaks)} (each round)")


async def bench_callbacks(n: int) -> None:
    print(f"\n== The whole path: {n} seller invoice requests over HTTP, each callback delivered and recorded ==")
    with tempfile.TemporaryDirectory() as tmp:
        receiver, rport = start_baseline("bench.bare", "receiver")
        sim, sport = start_moisim(str(Path(tmp) / "cb.db"), clock="virtual")
        base = f"http://127.0.0.1:{sport}"
        try:
            endpoint = f"http://127.0.0.1:{rport}/mkp"
            await load(f"{base}/api/checkout/pvt/orders?sc=1&affiliateId=MKP", place_bodies("cb-", n, endpoint), 32, MKP)
            auth = [json.dumps(seeds.authorization_body(f"cb-{i}")).encode() for i in range(n)]
            await load("", auth, 32, MKP, method="POST", urls=[
                f"{base}/api/checkout/pvt/orders/MKP-cb-{i}-01/receipts/marketplace-order-authorization" for i in range(n)])
            async with aiohttp.ClientSession(headers=ADMIN) as s:
                await s.post(f"{base}/_sim/clock/advance", json={"seconds": 1800})
            invoices = [json.dumps(seeds.invoice_body(f"nf-{i}", 132)).encode() for i in range(n)]
            urls = [f"{base}/api/oms/pvt/orders/MKP-cb-{i}-01/invoice" for i in range(n)]
            start = time.perf_counter()
            await load("", invoices, 32, SELLER, method="POST", urls=urls)
            async with aiohttp.ClientSession() as s:
                while True:  # ask the receiver, not moisim, so polling adds no load to what is measured
                    async with s.get(f"http://127.0.0.1:{rport}/_count") as resp:
                        if await resp.json() >= n:
                            break
                    await asyncio.sleep(0.005)
                moisim_rate = n / (time.perf_counter() - start)
                await asyncio.sleep(0.2)  # let the last verdicts commit, then check every one was recorded
                async with s.get(f"{base}/_sim/journal?direction=out&limit={n}", headers=ADMIN) as resp:
                    recorded = len((await resp.json())["entries"])

            bodies = [json.dumps({"type": "Output", "invoiceNumber": f"nf-{i}", "invoiceValue": 132}).encode()
                      for i in range(n)]
            bare = await load("", bodies, 16, {}, method="POST",
                              urls=[f"{endpoint}/api/oms/pvt/orders/cb-{i}/invoice" for i in range(n)])
        finally:
            stop(receiver)
            stop(sim)
    print(f"  bare aiohttp client      {bare['rps']:8.0f} callbacks/s")
    print(f"  moisim (invoice request -> outbox -> delivered, recorded)  {moisim_rate:8.0f} callbacks/s")
    print(f"  moisim / bare: {moisim_rate / bare['rps']:.0%}  (two HTTP exchanges per callback here; informational)"
          f"   attempts recorded: {recorded}/{n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callbacks", type=int, default=2000)
    args = parser.parse_args()
    print(f"moisim bench: python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    asyncio.run(bench_placement(args.requests, args.concurrency, args.rounds))
    asyncio.run(bench_delivery(args.callbacks, args.rounds))
    asyncio.run(bench_callbacks(args.callbacks))


if __name__ == "__main__":
    main()
