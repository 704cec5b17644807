"""`moisim serve` as a user runs it: starts, answers, stops cleanly on Ctrl-C; refuses bad config."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc: subprocess.Popen, port: int, timeout: float = 15.0) -> dict:
    """Wait for the 'moisim ready' log line: readiness is announced, not guessed with sleeps."""
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"moisim exited early with {proc.wait()}")
        if "moisim ready" in line:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/health", timeout=5) as resp:
                return json.load(resp)
    raise AssertionError("moisim did not become ready")


def start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simulator", "serve", *args], cwd=cwd, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_serve_starts_answers_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    proc = start("--port", str(port), "--db", str(tmp_path / "m.db"), "--clock", "virtual", cwd=tmp_path)
    try:
        health = wait_ready(proc, port)
        assert health["status"] == "ok" and health["clock"] == "virtual"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        rest = proc.stderr.read() if proc.stderr else ""
        assert "Traceback" not in rest
    finally:
        if proc.poll() is None:
            proc.kill()


def test_log_lines_are_json_when_not_on_a_terminal(tmp_path: Path) -> None:
    port = free_port()
    proc = start("--port", str(port), "--db", ":memory:", cwd=tmp_path)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        entry = json.loads(line)
        assert entry["message"] == "moisim ready" and entry["url"] == f"http://127.0.0.1:{port}"
        # uvloop is a dependency wherever it exists (not on Windows), and serve runs on it
        assert entry["loop"] == ("asyncio" if sys.platform == "win32" else "uvloop")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)


@pytest.mark.parametrize("config,message", [
    ("clock: sometimes\n", "clock"),
    ("timings:\n  window-to-cancel: later\n", "timings.window-to-cancel"),
    # libyaml 0.2.5's composer recursed in C until the process died of a segmentation fault (0.2.6
    # stops at 1,000 levels, so the column named depends on the libyaml installed)
    ("timings: " + "[" * 50_000 + "]" * 50_000 + "\n", ": lists and mappings nested more than 64 levels deep"),
])
def test_bad_config_stops_before_starting(tmp_path: Path, config: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(config)
    result = subprocess.run([sys.executable, "-m", "simulator", "serve", "--config", str(path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "simulator", "serve", "--port", str(port), "--db", ":memory:"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr


@dataclass
class Served:
    port: int
    log: str = ""  # everything it logged, once it has stopped

    def messages(self) -> list[str]:
        return [json.loads(line)["message"] for line in self.log.splitlines()]


@contextmanager
def serving(tmp_path: Path) -> Iterator[Served]:
    """`moisim serve` on a free port with an in-memory store, stopped with Ctrl-C on the way out."""
    server = Served(free_port())
    proc = start("--port", str(server.port), "--db", ":memory:", cwd=tmp_path)
    try:
        wait_ready(proc, server.port)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        server.log = proc.stderr.read() if proc.stderr else ""


def raw_exchange(port: int, data: bytes) -> tuple[int, dict]:
    """Send bytes as they are (no client would send these) and read the reply to the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    return int(head.split(b" ", 2)[1]), json.loads(body)


@pytest.mark.parametrize("data,words", [
    (b"GET /api/oms/pvt/orders?f_status=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     "longer than 8190 bytes; it begins '/api/oms/pvt/orders?f_status=aaa"),
    (b"GET /_sim/health HTTP/1.1\r\nHost: x\r\nX-Note: " + b"b" * 9000 + b"\r\n\r\n", "longer than 8190 bytes"),
    (b"GE T /_sim/health HTTP/1.1\r\nHost: x\r\n\r\n", "Invalid method encountered: b'GE T /_sim/health HTTP/1.1'"),
    (b"POST /api/oms/pvt/orders/x/cancel HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
     "Invalid character in chunk size"),
])
def test_a_request_aiohttp_cannot_parse_gets_a_vtex_error(tmp_path: Path, data: bytes, words: str) -> None:
    """aiohttp refuses these before any route or middleware sees them; the answer is still VTEX's
    error body, and the log has one line for it, not a traceback."""
    with serving(tmp_path) as server:
        status, body = raw_exchange(server.port, data)
        assert status == 400
        assert body["error"]["code"] == "SIM013" and body["error"]["exception"] is None
        assert body["error"]["message"].startswith("Bad HTTP request: ") and words in body["error"]["message"]
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/_sim/health", timeout=5) as resp:
            assert resp.status == 200  # and the server goes on
    assert "Traceback" not in server.log
    assert server.messages().count("unparsable HTTP request") == 1


def test_a_content_encoding_aiohttp_cannot_read_gets_415_naming_what_it_reads(tmp_path: Path) -> None:
    """aiohttp refuses a body in brotli (or zstd) when their optional packages are missing, with
    advice to install one. The client gets 415, what moisim reads in Accept-Encoding and in the
    message, and no advice meant for moisim's own installation."""
    from simulator.http.server import CODINGS_READ

    unreadable = next(c for c in ("br", "zstd") if c not in CODINGS_READ.split(", "))  # moisim needs neither package
    request = urllib.request.Request(
        "http://127.0.0.1:{port}/api/checkout/pvt/orders?sc=1&affiliateId=MKP", method="PUT", data=b"\x0b\x02\x80{}\x03",
        headers={"X-VTEX-API-AppKey": "moisim-marketplace", "X-VTEX-API-AppToken": "moisim-marketplace-secret",
                 "Content-Type": "application/json", "Content-Encoding": unreadable})
    with serving(tmp_path) as server:
        request.full_url = request.full_url.format(port=server.port)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 415
        assert refused.value.headers["Accept-Encoding"] == CODINGS_READ
        error = json.loads(refused.value.read())["error"]
        assert error["code"] == "SIM013"
        assert error["message"] == (f"Bad HTTP request: Content-Encoding {unreadable} cannot be read here; send the body "
                                    f"with Content-Encoding {' or '.join(CODINGS_READ.split(', '))}, or with none")
        assert "install" not in error["message"]
    assert "Traceback" not in server.log


def test_a_body_that_does_not_decode_is_one_log_line_not_a_traceback(tmp_path: Path) -> None:
    """The middleware answers 400 SIM001; aiohttp meets the same error again while draining the
    body after the reply, and would log it as an unhandled exception."""
    body = b"not gzip at all"
    with serving(tmp_path) as server:
        status, reply = raw_exchange(server.port, b"PUT /api/checkout/pvt/orders?sc=1&affiliateId=MKP HTTP/1.1\r\n"
                                     b"Host: x\r\nX-VTEX-API-AppKey: moisim-marketplace\r\n"
                                     b"X-VTEX-API-AppToken: moisim-marketplace-secret\r\nContent-Type: application/json\r\n"
                                     b"Content-Encoding: gzip\r\nConnection: close\r\n"
                                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert (status, reply["error"]["code"]) == (400, "SIM001")
    assert "Traceback" not in server.log
    assert server.messages().count("unreadable request body") == 1


PARTIAL_PLACEMENT = (b"PUT /api/checkout/pvt/orders?sc=1&affiliateId=MKP HTTP/1.1\r\nHost: x\r\n"
                     b"X-VTEX-API-AppKey: moisim-marketplace\r\nX-VTEX-API-AppToken: moisim-marketplace-secret\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"items\":")
CUT_SHORT = "a request's body was cut short: the connection closed before it arrived"


def admin_get(port: int, path: str) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={
        "X-VTEX-API-AppKey": "moisim-admin", "X-VTEX-API-AppToken": "moisim-admin-secret"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def test_a_client_that_hangs_up_mid_body_is_journaled_not_an_unhandled_error(tmp_path: Path) -> None:
    """It was logged as "unhandled error" with a traceback and journaled as a 500."""
    with serving(tmp_path) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(PARTIAL_PLACEMENT)
        entries: list = []
        for _ in range(200):  # the handler ends once the server sees the connection close
            entries = admin_get(server.port, "/_sim/journal?kind=place-order")["entries"]
            if entries:
                break
        [entry] = entries
        assert entry["status"] == 400
        assert entry["reply"]["error"]["message"] == "Invalid JSON: the connection closed before the whole body arrived"
    assert "Traceback" not in server.log and "unhandled error" not in server.messages()
    assert CUT_SHORT in server.messages()


def test_a_stop_cuts_off_a_body_that_never_arrives(tmp_path: Path) -> None:
    """aiohttp waited 5 s for such a request, then cancelled it; the stop now closes its connection."""
    with serving(tmp_path) as server:
        stalled = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        stalled.sendall(PARTIAL_PLACEMENT)
        admin_get(server.port, "/_sim/health")  # a round trip later, the placement waits for its body
    stalled.close()
    messages = server.messages()
    assert messages.index(CUT_SHORT) > messages.index("moisim stopping")
    assert "Traceback" not in server.log


@pytest.mark.parametrize("make_db,reason", [
    (lambda tmp: tmp / "no-such-folder" / "m.db", "unable to open database file"),
    (lambda tmp: (tmp / "junk.db").write_bytes(b"this is not SQLite" * 100) and tmp / "junk.db", "file is not a database"),
])
def test_a_database_that_cannot_be_opened_is_named(tmp_path: Path, make_db, reason: str) -> None:
    path = make_db(tmp_path)
    result = subprocess.run([sys.executable, "-m", "simulator", "serve", "--db", str(path), "--port", "0"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"moisim: cannot open the database {path} (store.path, --db): {reason}"


def test_ctrl_c_while_starting_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C in the half second before 'moisim ready' (loading aiohttp, opening the store) printed
    a KeyboardInterrupt traceback; it now says so in one line and exits 130, as a shell expects."""
    from simulator import cli

    def interrupted(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "serve", interrupted)
    assert cli.main(["serve", "--db", ":memory:"]) == 130
    assert capsys.readouterr().err == "moisim: interrupted\n"


def test_serve_answers_https_with_the_configured_certificate(tmp_path: Path) -> None:
    tls = Path(__file__).parent / "tls"
    config = tmp_path / "moisim.yaml"
    config.write_text(f"server:\n  tls-cert: {tls / 'cert.pem'}\n  tls-key: {tls / 'key.pem'}\n")
    port = free_port()
    proc = start("--config", str(config), "--port", str(port), "--db", ":memory:", cwd=tmp_path)
    try:
        assert proc.stderr is not None
        ready = json.loads(proc.stderr.readline())
        assert (ready["message"], ready["url"]) == ("moisim ready", f"https://127.0.0.1:{port}")
        trusting = ssl.create_default_context(cafile=str(tls / "cert.pem"))
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/_sim/health", context=trusting, timeout=5) as resp:
            assert json.load(resp)["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0


def test_a_second_server_on_the_same_database_waits_then_stops(tmp_path: Path) -> None:
    """Two servers on one file handed out the same order sequence numbers and would have sent
    every callback twice; the second now exits 2, and once the first is gone (even by kill -9)
    the file serves again."""
    path = tmp_path / "m.db"
    port = free_port()
    first = start("--port", str(port), "--db", str(path), cwd=tmp_path)
    try:
        wait_ready(first, port)
        second = subprocess.run([sys.executable, "-m", "simulator", "serve", "--db", str(path), "--port", "0"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert second.stderr.strip().endswith(
            f"moisim: cannot open the database {path} (store.path, --db): another moisim is serving it (waited 7 s "
            "for it to stop); stop that one, or give this one its own --db")
        assert "waiting up to 7 s for it to stop" in second.stderr
    finally:
        first.kill()
        first.wait(timeout=15)
    port = free_port()
    third = start("--port", str(port), "--db", str(path), cwd=tmp_path)
    try:
        wait_ready(third, port)
    finally:
        third.send_signal(signal.SIGINT)
        assert third.wait(timeout=15) == 0


def test_a_restart_that_follows_a_stop_at_once_waits_for_the_database(tmp_path: Path) -> None:
    """A restart that does not wait for the old process to exit (SIGTERM, then start) gets the
    database once the old server has let go of it, instead of stopping."""
    path = tmp_path / "m.db"
    port = free_port()
    old = start("--port", str(port), "--db", str(path), cwd=tmp_path)
    wait_ready(old, port)
    old.send_signal(signal.SIGTERM)
    port = free_port()
    new = start("--port", str(port), "--db", str(path), cwd=tmp_path)
    try:
        wait_ready(new, port)
        assert old.wait(timeout=15) == 0
    finally:
        new.send_signal(signal.SIGINT)
        assert new.wait(timeout=15) == 0


@pytest.mark.parametrize("port,says", [("99999", "99999 is not a port"), ("-1", "-1 is not a port"),
                                       ("abc", "'abc' is not a number")])
def test_a_port_out_of_range_is_refused_not_wrapped(tmp_path: Path, port: str, says: str) -> None:
    """The operating system would listen on 99999 % 65536 = 34463 and the ready line would name it."""
    result = subprocess.run([sys.executable, "-m", "simulator", "serve", "--port", port, "--db", ":memory:"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"argument --port: {says}" in result.stderr


@pytest.mark.parametrize("option,says", [("--db", "empty: give a file, or :memory:"), ("--host", "empty: give an address")])
def test_an_empty_db_or_host_is_refused(capsys: pytest.CaptureFixture[str], option: str, says: str) -> None:
    """The configuration's schema refuses an empty store.path and host; the options refuse them too
    (an empty --db was SQLite's private temporary database: orders gone at exit, without a word)."""
    from simulator.cli import build_parser

    with pytest.raises(SystemExit) as exit:
        build_parser().parse_args(["serve", option, ""])
    assert exit.value.code == 2
    assert f"argument {option}: {says}" in capsys.readouterr().err
