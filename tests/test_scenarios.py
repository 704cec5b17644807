"""Scenarios: files and their errors, the bundled library against a correct and a defective
marketplace stub, the conformance command and its JUnit report, ``--server``, and playback."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from simulator.cli import main
from simulator.config import ConfigError, load_config
from simulator.http import keys
from simulator.scenarios.conformance import run, select, start_in_process
from simulator.scenarios.events import Event, ScenarioFinished, StepFinished
from simulator.scenarios.model import BUNDLED_DIR, ScenarioError, load_scenario, load_scenarios
from simulator.stub import MarketplaceStub, Reply
from tests.conftest import LoopTurns, sim_config

BUNDLED = load_scenarios([BUNDLED_DIR])
CONFORMANCE = select(BUNDLED.values(), "conformance")
BEHAVIOUR = select(BUNDLED.values(), "behaviour")


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def results(self) -> dict[str, ScenarioFinished]:
        return {e.name: e for e in self.events if isinstance(e, ScenarioFinished)}


def test_the_library_covers_every_flow_of_the_issue() -> None:
    assert {s.name for s in CONFORMANCE} == {
        "happy-path-full-invoice", "partial-invoices", "tracking-after-invoice", "repeated-invoice",
        "seller-cancellation", "cancel-inside-window", "cancel-after-window-accepted", "cancel-after-window-denied",
        "change-add-item", "change-remove-item", "change-discount", "change-increment", "duplicate-placement",
        "invalid-payloads", "cancel-request-unanswered", "authorization-timeout"}
    assert {s.name for s in BEHAVIOUR} == {"behaviour-change-refused", "behaviour-callbacks-5xx-retried",
                                           "behaviour-callbacks-timeout-and-drop", "behaviour-callbacks-give-up"}


async def test_a_correct_marketplace_passes_every_scenario(marketplace: MarketplaceStub) -> None:
    """Conformance and behaviour scenarios alike, against the built-in stub (fast timeouts)."""
    collect = Collect()
    config = sim_config(callbacks={"timeout": "300ms"})
    finished = await run(CONFORMANCE + BEHAVIOUR, stub=marketplace, config=config, reporters=[collect])
    failures = {name: r.failures or r.error for name, r in collect.results().items() if not r.ok}
    assert failures == {}
    assert finished.passed == len(CONFORMANCE) + len(BEHAVIOUR) and finished.failed == 0
    steps = [e for e in collect.events if isinstance(e, StepFinished)]
    assert len(steps) == sum(len(s.steps) for s in CONFORMANCE + BEHAVIOUR)


DEFECTS = [
    # (callback kind, the wrong reply, a scenario it breaks, what the failure must name)
    ("invoice", Reply(200, body={"date": "2026-11-23T10:00:00Z", "orderId": "x"}), "happy-path-full-invoice",
     "receipt"),
    ("invoice", Reply(200, body="thanks!"), "repeated-invoice", "reply is not JSON"),
    ("invoice", Reply(404), "partial-invoices", "answered 404"),
    ("change", Reply(500), "change-add-item", "refused"),
    ("change", Reply(200, body={"orderId": 17, "receipt": "r"}), "change-discount", "orderId"),
    ("seller-cancellation", Reply(400), "seller-cancellation", "answered 400"),
    ("seller-cancellation", Reply(503), "cancel-after-window-accepted", "answered 503"),
]


@pytest.mark.parametrize(("kind", "reply", "scenario", "named"), DEFECTS,
                         ids=[f"{d[0]}-{d[2]}-{d[3]}" for d in DEFECTS])
async def test_a_defective_marketplace_fails_naming_the_field_or_status(
        marketplace: MarketplaceStub, kind: str, reply: Reply, scenario: str, named: str) -> None:
    marketplace.defects[kind] = reply
    collect = Collect()
    finished = await run([BUNDLED[scenario]], stub=marketplace, config=sim_config(), reporters=[collect])
    result = collect.results()[scenario]
    assert finished.failed == 1 and not result.ok and result.error is None
    assert any(named in failure for failure in result.failures), result.failures


async def test_a_correct_marketplace_passes_through_an_already_running_server(marketplace: MarketplaceStub) -> None:
    runner, url = await start_in_process(sim_config())
    try:
        collect = Collect()
        finished = await run(select(CONFORMANCE, only=["happy-path-full-invoice", "invalid-payloads"]),
                             stub=marketplace, config=sim_config(), reporters=[collect], server=url)
        assert finished.passed == 2, collect.results()
        # the same server a second time: the run id keeps marketplaceOrderGroups apart
        finished = await run([BUNDLED["happy-path-full-invoice"]], stub=marketplace, config=sim_config(),
                             reporters=[collect], server=url)
        assert finished.passed == 1
    finally:
        await runner.cleanup()


async def test_an_unreachable_server_is_an_error_of_the_run_not_a_failure(marketplace: MarketplaceStub) -> None:
    collect = Collect()
    finished = await run([BUNDLED["duplicate-placement"]], stub=marketplace, config=sim_config(),
                         reporters=[collect], server="http://127.0.0.1:9")
    result = collect.results()["duplicate-placement"]
    assert finished.failed == 1 and result.error and "unreachable" in result.error


@pytest.mark.parametrize(("text", "content_type", "says"), [
    ("<html>my marketplace</html>", "text/html", "gave '<html>my marketplace</html>'"),
    ('{"status": "up"}', "application/json", """gave '{"status":"up"}'"""),
    ("[" * 2000 + "]" * 2000, "application/json", "gave '[[[["),  # was a RecursionError
])
async def test_a_server_that_is_not_moisim_is_an_error_of_the_run_naming_what_it_said(
        marketplace: MarketplaceStub, aiohttp_server: Any, text: str, content_type: str, says: str) -> None:
    """--server given another service's URL (the marketplace's, say) crashed the run with a traceback."""
    async def anything(request: web.Request) -> web.Response:
        return web.Response(text=text, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    server = await aiohttp_server(app)
    collect = Collect()
    finished = await run([BUNDLED["duplicate-placement"]], stub=marketplace, config=sim_config(),
                         reporters=[collect], server=str(server.make_url("")))
    error = collect.results()["duplicate-placement"].error
    assert finished.failed == 1 and error is not None
    assert "does not answer as moisim does: GET /_sim/clock " + says in error
    assert error.endswith("--server takes the URL of a running moisim serve")


async def test_a_server_that_answers_only_the_clock_as_moisim_is_named_when_an_order_view_is_not_one(
        marketplace: MarketplaceStub, aiohttp_server: Any) -> None:
    async def anything(request: web.Request) -> web.Response:
        if request.path == "/_sim/clock":
            return web.json_response({"clock": "virtual", "now": "2026-11-24T00:00:00Z"})
        return web.json_response({"weird": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    server = await aiohttp_server(app)
    collect = Collect()
    await run([BUNDLED["happy-path-full-invoice"]], stub=marketplace, config=sim_config(), reporters=[collect],
              server=str(server.make_url("")))
    error = collect.results()["happy-path-full-invoice"].error
    assert error is not None and """gave no chainOrder: '{"weird":true}'; is http://""" in error, error


# --- files -----------------------------------------------------------------------------------
def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


SCENARIO = """\
name: mine
description: my first scenario
steps:
  - place:
  - authorize:
  - after: 30m
  - start-handling:
  - invoice: {number: NF-1}
  - expect: {status: invoiced, callback: invoice}
"""


def test_a_scenario_loads_with_its_lines(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, SCENARIO))
    assert [s.action for s in scenario.steps] == [
        "place", "authorize", None, "start-handling", "invoice", "expect"]
    assert scenario.steps[2].after == 1800 and scenario.steps[4].line == 8 and scenario.kind == "conformance"


@pytest.mark.parametrize(("text", "where", "says"), [
    (SCENARIO.replace("  - authorize:\n", "  - authorise:\n"), ":5:", "steps[1]: Additional properties"),
    (SCENARIO.replace("after: 30m", "after: half an hour"), ":6:", "steps[2].after"),
    (SCENARIO.replace("  - start-handling:\n", "  - start-handling:\n    invoice:\n"), ":7:", "does one thing"),
    (SCENARIO.replace("name: mine", "name: My Scenario"), ":1:", "name"),
    (SCENARIO.replace("description: my first scenario\n", ""), ":1:", "description: is required"),
    (SCENARIO.replace("callback: invoice}", "outcome: refused}"), ":9:", "name it with callback"),
    (SCENARIO.replace("  - place:\n", "  - place:\n  - expect-error: FMT009\n"), ":5:", "only an action can fail"),
    (SCENARIO + "  - [\n", "", "invalid YAML"),
    (SCENARIO.replace("name: mine\n", "name: mine\nname: theirs\n"), ":2:", "name is written twice (first on line 1)"),
    ("name: &n [*n]\n", ":1:", "name[0] is an alias (*name) of a value that contains it"),
    (SCENARIO.replace("  - place:\n", "  - place: " + "[" * 2000 + "]" * 2000 + "\n"), ":4:", "nested more than 64 levels"),
    (SCENARIO.replace("  - place:\n", "  - place:\n  - after: 3651d\n"), ":5:", "steps[1].after: '3651d' is longer than ten years"),
    (SCENARIO.replace("  - place:\n", "  - place:\n  - stub: {invoice: [500, {delay: 99999d}]}\n"), ":5:",
     "steps[1].stub.invoice[1].delay: '99999d' is longer than ten years"),
])
def test_mistakes_are_reported_with_file_line_and_field(tmp_path: Path, text: str, where: str, says: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert f"{path}{where}" in message and says in message, message


def test_a_folder_reports_every_file_it_cannot_read(tmp_path: Path) -> None:
    write(tmp_path, SCENARIO, "good.yaml")
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")  # a link to nothing: reported, not skipped
    (tmp_path / "folder.yaml").mkdir()  # a folder is not a scenario file
    write(tmp_path, "notes", "README.md")
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([tmp_path])
    assert caught.value.problems == [f"{tmp_path / 'gone.yaml'}: cannot read: No such file or directory"]


def test_validate_checks_scenarios_and_configurations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, SCENARIO, "good.yaml")
    config = write(tmp_path, "callbacks:\n  attempts: 3\n", "moisim.yaml")
    assert main(["validate", str(good), str(config)]) == 0
    out = capsys.readouterr().out
    assert "scenario mine (conformance, 6 steps)" in out and "configuration" in out
    bad_config = write(tmp_path, "callbacks:\n  attempts: none\n", "bad.yaml")
    bad_scenario = write(tmp_path, SCENARIO.replace("after: 30m", "after: soon"), "bad-scenario.yaml")
    assert main(["validate", str(good), str(bad_config), str(bad_scenario)]) == 1
    err = capsys.readouterr().err
    assert "callbacks.attempts" in err and f"{bad_scenario}:6:" in err and "2 of 3 file(s) invalid" in err


def test_validate_reads_a_folder_as_its_yaml_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder was "cannot read: Is a directory"; conformance --scenarios reads one."""
    folder, empty = tmp_path / "mine", tmp_path / "empty"
    folder.mkdir()
    empty.mkdir()
    good = write(folder, SCENARIO, "good.yaml")
    bad = write(folder, SCENARIO.replace("after: 30m", "after: soon"), "bad.yml")
    write(folder, "notes", "README.md")  # not a scenario file: left alone
    assert main(["validate", str(folder)]) == 1
    captured = capsys.readouterr()
    assert f"{good}: ok, scenario mine" in captured.out
    assert f"{bad}:6:" in captured.err and "1 of 2 file(s) invalid" in captured.err
    assert main(["validate", str(empty)]) == 1
    assert f"{empty}: a folder without .yaml or .yml files" in capsys.readouterr().err


@pytest.mark.parametrize(("where", "says"), [
    (lambda tmp: tmp, "Is a directory"),
    (lambda tmp: (tmp / "a-file").write_text("x") and tmp / "a-file" / "moisim.xml", "File exists"),
])
def test_a_junit_path_that_cannot_be_written_stops_the_run_before_it_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], where: Any, says: str) -> None:
    """It was found only after every scenario had run, and the run's results were lost with it."""
    junit = where(tmp_path)
    assert main(["conformance", "--marketplace-endpoint", "stub", "--junit", str(junit)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # not one scenario ran
    assert captured.err == f"moisim conformance: --junit {junit}: cannot write the report there ({says})\n"


def test_conformance_command_prints_progress_writes_junit_and_sets_the_exit_status(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit = tmp_path / "reports" / "moisim.xml"
    assert main(["conformance", "--marketplace-endpoint", "stub", "--junit", str(junit)]) == 0
    out = capsys.readouterr().out
    assert f"[1/{len(CONFORMANCE)}] PASS" in out and f"{len(CONFORMANCE)} passed, 0 failed" in out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == str(len(CONFORMANCE)) and suite.get("failures") == "0"
    assert {case.get("name") for case in suite.iter("testcase")} == {s.name for s in CONFORMANCE}

    folder = tmp_path / "mine"
    folder.mkdir()
    write(folder, SCENARIO.replace("status: invoiced", "status: canceled"))
    junit = tmp_path / "failing.xml"
    assert main(["conformance", "--marketplace-endpoint", "stub", "--scenarios", str(folder),
                 "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  mine" in out and "order status is 'invoiced', expected 'canceled'" in out
    failure = ET.parse(junit).getroot().find("testsuite/testcase/failure")
    assert failure is not None and "line 9" in failure.get("message", "")


def test_conformance_command_refuses_bad_input_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, SCENARIO.replace("after: 30m", "after: soon"))
    assert main(["conformance", "--marketplace-endpoint", "stub", "--scenarios", str(tmp_path)]) == 2
    assert "steps[2].after" in capsys.readouterr().err
    assert main(["conformance", "--marketplace-endpoint", "stub", "--only", "no-such-scenario"]) == 2
    assert "no scenario named 'no-such-scenario'" in capsys.readouterr().err
    assert main(["conformance", "--marketplace-endpoint", "http://127.0.0.1:99999/mkp"]) == 2
    assert "--marketplace-endpoint 'http://127.0.0.1:99999/mkp': its port is not a number" in capsys.readouterr().err
    assert main(["conformance", "--marketplace-endpoint", "mkp.example.com"]) == 2
    assert "it is not an http:// or https:// URL" in capsys.readouterr().err


def test_conformance_against_an_unreachable_moisim_exits_2_with_the_reason(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """2, not 1: the marketplace did not fail anything; CI can tell the two apart. The JUnit report
    still has the scenario, as an error."""
    report = tmp_path / "r.xml"
    assert main(["conformance", "--marketplace-endpoint", "stub", "--server", "http://127.0.0.1:9",
                 "--only", "duplicate-placement", "--junit", str(report)]) == 2
    assert "moisim at http://127.0.0.1:9 is unreachable" in capsys.readouterr().out
    assert "<error" in report.read_text()


# --- playback on a running server ------------------------------------------------------------
async def test_a_bound_scenario_plays_the_seller_on_a_marketplace_order(make_sim, marketplace: MarketplaceStub) -> None:
    sim = await make_sim(scenarios={"bindings": [{"scenario": "happy-path-full-invoice",
                                                  "order-group-prefix": "auto-invoice-"}]})
    endpoint = f"{marketplace.url}/api/orders?parameter=value"
    order_id = (await sim.place("auto-invoice-1", endpoint))["orders"][0]["orderId"]
    other = (await sim.place("manual-1", endpoint))["orders"][0]["orderId"]
    for group, oid in (("auto-invoice-1", order_id), ("manual-1", other)):
        await sim.authorize(oid, group)
    await sim.advance(30 * 60)  # ready for handling: the scenario's timeline starts, its steps play
    await sim.advance(60)
    assert (await sim.order(order_id))["status"] == "invoiced"
    assert (await sim.order(other))["status"] == "payment-approved"  # not bound: nobody touched it
    [call] = marketplace.calls_of("invoice")
    assert call.body["invoiceNumber"] == "NF-1001"
    _, journal = await sim.call("GET", f"/_sim/journal?orderId={order_id}&kind=scenario", role="admin", expect=200)
    played = sorted((e["step"], e["label"], e["ok"]) for e in journal["entries"])
    assert [p[1] for p in played] == ["start-handling", "expect franchise-status=handling", "invoice",
                                      "expect status=invoiced, franchise-status=invoiced, callback=invoice, "
                                      "reply=valid, count=1"]
    assert all(ok for _, _, ok in played), journal["entries"]


async def test_on_a_virtual_clock_a_step_due_at_once_waits_for_an_advance(make_sim) -> None:
    """As the README says: nothing moves on a virtual clock until an advance, a step due the moment
    its timeline starts included; an advance of 0 seconds plays it."""
    sim = await make_sim(scenarios={"bindings": [{"scenario": "seller-cancellation", "sku": "36",
                                                  "start-on": "payment-approved"}]})
    order_id = (await sim.place())["orders"][0]["orderId"]
    await sim.authorize(order_id, "externalMarketplace10")
    assert (await sim.order(order_id))["status"] == "payment-approved"
    await sim.advance(0)
    assert (await sim.order(order_id))["status"] == "canceled"


async def test_many_orders_steps_due_at_once_give_other_work_a_turn_between_them(make_sim) -> None:
    """As with timers: a step of every bound order due in one advance must not hold the loop."""
    sim = await make_sim(scenarios={"bindings": [{"scenario": "seller-cancellation", "sku": "36",
                                                  "start-on": "payment-approved"}]})
    groups = [f"g-{i}" for i in range(4)]
    for group in groups:
        await sim.place(group)
        await sim.authorize(f"MKP-{group}-01", group)
    playback = sim.client.app[keys.SCHEDULER].playback
    turns, seen = LoopTurns(), []
    play = playback._play

    async def recorded(attached: Any) -> None:
        seen.append(turns.count)
        await play(attached)

    playback._play = recorded
    await turns.during(sim.advance(0))
    assert len(seen) == 8  # each order's cancel and its expect
    assert seen == sorted(set(seen))  # other work had a turn between every two steps
    for group in groups:
        assert (await sim.order(f"MKP-{group}-01"))["status"] == "canceled"


async def test_a_stop_ends_an_advance_between_scenario_steps_and_the_rest_play_after_a_restart(
        make_sim, tmp_path: Path) -> None:
    bindings = {"bindings": [{"scenario": "seller-cancellation", "sku": "36", "start-on": "payment-approved"}]}
    first = await make_sim(scenarios=bindings, store={"path": str(tmp_path / "moisim.db")})
    groups = [f"g-{i}" for i in range(4)]
    for group in groups:
        await first.place(group)
        await first.authorize(f"MKP-{group}-01", group)
    playback = first.client.app[keys.SCHEDULER].playback
    play = playback._play

    async def stop_after_the_first_step(attached: Any) -> None:
        await play(attached)
        await first.app.shutdown()  # as Ctrl-C does, before aiohttp waits for the requests under way

    playback._play = stop_after_the_first_step
    status, body = await first.call("POST", "/_sim/clock/advance", role="admin", json={"seconds": 0})
    assert (status, body["error"]["code"]) == (503, "SIM014")
    statuses = [first.store.get_order("moisim", f"MKP-{g}-01").status for g in groups]
    assert sorted(statuses) == ["canceled", "payment-approved", "payment-approved", "payment-approved"]
    await first.client.close()

    second = await make_sim(scenarios=bindings, store={"path": str(tmp_path / "moisim.db")})
    await second.advance(0)
    for group in groups:
        assert (await second.order(f"MKP-{group}-01"))["status"] == "canceled"


async def test_a_binding_to_an_unknown_scenario_is_refused_at_start(make_sim) -> None:
    with pytest.raises(ConfigError) as caught:
        await make_sim(scenarios={"bindings": [{"scenario": "no-such", "affiliate": "MKP"}]})
    assert "scenarios.bindings[0].scenario: no scenario named 'no-such'" in str(caught.value)


def test_the_readme_example_scenario_runs_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = readme.split("### Writing a scenario", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    write(tmp_path, example, "readme.yaml")
    assert main(["conformance", "--marketplace-endpoint", "stub", "--scenarios", str(tmp_path)]) == 0
    assert "PASS  invoice-then-tracking" in capsys.readouterr().out


def test_validate_checks_the_scenarios_a_configuration_binds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path, "scenarios:\n  bindings:\n    - {scenario: nope, sku: '8'}\n", "moisim.yaml")
    assert main(["validate", str(config)]) == 1
    assert f"{config}:3: scenarios.bindings[0].scenario: no scenario named 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(("binding", "says"), [
    ("{scenario: seller-cancellation, sku: '77777'}", ":3: scenarios.bindings[0].sku: SKU '77777' is not in the "
                                                     "catalog, and placement.unknown-skus refuses such SKUs"),
    ("{scenario: seller-cancellation, affiliate: ZZZ}", ":3: scenarios.bindings[0].affiliate: 'ZZZ' is not an "
                                                        "affiliate (MKP); no order would match"),
])
def test_a_binding_no_order_could_match_is_refused(tmp_path: Path, binding: str, says: str) -> None:
    """Both started without a word before, and the binding never played."""
    path = write(tmp_path, f"scenarios:\n  bindings:\n    - {binding}\n", "moisim.yaml")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}{says}" in str(caught.value)


def test_a_binding_may_name_an_unlisted_sku_where_placement_accepts_them(tmp_path: Path) -> None:
    path = write(tmp_path, "placement:\n  unknown-skus: accept\nscenarios:\n  bindings:\n"
                           "    - {scenario: seller-cancellation, sku: '77777'}\n", "moisim.yaml")
    assert load_config(path).bindings[0].sku == "77777"
