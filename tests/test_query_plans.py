"""Every statement a day's work runs finds its rows through an index: a table scan costs nothing
in a test's store and everything in a long-running one (a 20,000-SKU catalog made each placement
read 40,000 stock rows; bound scenarios made every scheduler pass read all their rows)."""

from __future__ import annotations

import re

from simulator.stub import MarketplaceStub
from tests import seeds
from tests.conftest import sim_config

PLACE = "/api/checkout/pvt/orders?sc=1&affiliateId=MKP"


async def test_no_statement_scans_a_table(make_sim, marketplace: MarketplaceStub) -> None:
    sim = await make_sim(sim_config(scenarios={"bindings": [{"scenario": "happy-path-full-invoice",
                                                              "order-group-prefix": "auto-"}]}))
    endpoint = f"{marketplace.url}/api/orders?parameter=value"
    ran: set[str] = set()
    sim.store._db.set_trace_callback(ran.add)  # each statement as run, its values written in
    try:
        await sim.handling(endpoint=endpoint)
        await sim.call("POST", f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}/invoice", role="seller",
                       json=seeds.invoice_body(), expect=200)
        await sim.dispatcher.drain()
        await sim.call("PUT", PLACE, json=seeds.place_body("auto-1", endpoint), expect=200)
        await sim.call("PUT", PLACE, json=seeds.place_body("c2", endpoint), expect=200)
        await sim.call("POST", "/api/oms/pvt/orders/MKP-c2-01/cancel", json={"reason": "x"}, expect=200)
        await sim.call("GET", "/api/oms/pvt/orders?f_status=invoiced&orderBy=orderId,asc", expect=200)
        for field in ("origin", "status", "items", "totalValue"):
            await sim.call("GET", f"/api/oms/pvt/orders?orderBy={field},desc", expect=200)
        await sim.call("GET", "/api/oms/pvt/orders?f_creationDate=creationDate:[2020-01-01T00:00:00Z TO "
                              "2100-01-01T00:00:00Z]&f_affiliateId=MKP", expect=200)
        await sim.call("GET", "/api/oms/pvt/orders?q=sicrano@mailinator.com&f_authorizedDate=authorizedDate:[2020-01-01T"
                              "00:00:00Z TO 2100-01-01T00:00:00Z]&f_invoicedDate=invoicedDate:[2020-01-01T00:00:00Z TO "
                              "2100-01-01T00:00:00Z]&f_hasInputInvoice=true&f_UtmSource=x", expect=200)
        await sim.call("GET", "/api/oms/pvt/orders/order-group/MKP-c2", expect=200)
        await sim.call("GET", "/api/oms/pvt/orders/seq500001", expect=200)
        await sim.call("GET", "/_sim/journal?orderId=MKP-c2-01&direction=in", role="admin", expect=200)
        await sim.call("GET", f"/_sim/orders/{seeds.SEED_ORDER_ID}", role="admin", expect=200)
        await sim.advance(31 * 86400)
    finally:
        sim.store._db.set_trace_callback(None)
    queries = [sql for sql in ran if re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT)", sql, re.I)]
    assert len(queries) > 20  # the workload did run
    scans, by_sequence = {}, {}
    for sql in queries:
        plan = [row[-1] for row in sim.store._db.execute("EXPLAIN QUERY PLAN " + sql)]
        # A search of the orders by account alone reads all of them, unless it reads the listing index.
        bad = [step for step in plan if step.startswith("SCAN") or (
            step.startswith("SEARCH orders ") and step.endswith("(account=?)") and "orders_chain_listing" not in step)]
        if bad:
            scans[" ".join(sql.split())[:120]] = bad
        if any("orders_by_sequence" in step for step in plan):
            by_sequence[" ".join(sql.split())[:120]] = plan
    assert scans == {}
    # The sequence index serves seq{n} and nothing else: the list's stats read the listing index alone.
    assert list(by_sequence) == ["SELECT doc FROM orders WHERE account='moisim' AND sequence=500001"], by_sequence
