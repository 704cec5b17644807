"""Expectations: compare an ``expect`` step with the order's inspection document.

The document is what ``GET /_sim/orders/{orderId}`` answers (``OrderService.inspect``): the chain
order, its franchise orders and its callbacks with each one's last attempt. Every difference
becomes one message that names the field or status that differed.
"""

from __future__ import annotations

from typing import Any


def check(expect: dict[str, Any], view: dict[str, Any]) -> list[str]:
    chain = view["chainOrder"]
    failures: list[str] = []
    if "status" in expect and chain["status"] != expect["status"]:
        failures.append(f"order status is {chain['status']!r}, expected {expect['status']!r}")
    if "franchise-status" in expect:
        first = view["franchiseOrders"][0]["status"] if view["franchiseOrders"] else None
        if first != expect["franchise-status"]:
            failures.append(f"franchise order status is {first!r}, expected {expect['franchise-status']!r}")
    if "value" in expect and chain["value"] != expect["value"]:
        failures.append(f"order value is {chain['value']}, expected {expect['value']}")
    if "items" in expect:
        have: dict[str, int] = {}
        for item in chain["items"] or []:
            have[str(item["id"])] = have.get(str(item["id"]), 0) + item["quantity"]
        want = {str(k): v for k, v in expect["items"].items()}
        if {k: v for k, v in have.items() if v} != {k: v for k, v in want.items() if v}:
            failures.append(f"order items are {have}, expected {want}")
    if "callback" in expect:
        failures.extend(check_callback(expect, view["callbacks"]))
    return failures


def check_callback(expect: dict[str, Any], callbacks: list[dict[str, Any]]) -> list[str]:
    kind = expect["callback"]
    sent = [c for c in callbacks if c["kind"] == kind]
    failures: list[str] = []
    if "count" in expect and len(sent) != expect["count"]:
        failures.append(f"{len(sent)} {kind} callback(s) were sent, expected {expect['count']}")
    wanted = expect.get("outcome", "none" if expect.get("count") == 0 else "delivered")
    if wanted == "none":
        if sent and "count" not in expect:
            failures.append(f"a {kind} callback was sent to {sent[-1]['url']}, expected none")
        return failures
    if not sent:
        return failures + [f"no {kind} callback was sent"]
    last = sent[-1]
    attempt = last.get("lastAttempt") or {}
    state = outcome_of(last)
    if state != wanted:
        failures.append(f"{kind} callback to {last['url']}: {describe(last)}, expected {wanted}")
    if "attempts" in expect and last["attempts"] != expect["attempts"]:
        failures.append(f"{kind} callback took {last['attempts']} attempt(s), expected {expect['attempts']}")
    reply = expect.get("reply", "valid" if wanted == "delivered" else "any")
    conforms = attempt.get("replyConforms")
    if reply == "valid" and conforms is False:
        errors = "; ".join(f"{e['path']}: {e['message']}" for e in attempt.get("schemaErrors") or [])
        failures.append(f"{kind} reply (status {attempt.get('status')}) does not match the expected schema: {errors}")
    elif reply == "invalid" and conforms is not False:
        failures.append(f"{kind} reply matched the schema, expected it not to")
    return failures


def outcome_of(callback: dict[str, Any]) -> str:
    state = callback["state"]
    if state == "failed" and (callback.get("lastAttempt") or {}).get("outcome") == "rejected":
        return "rejected"
    return state


def describe(callback: dict[str, Any]) -> str:
    attempt = callback.get("lastAttempt") or {}
    if not attempt:
        return "not attempted yet"
    answer = f"answered {attempt['status']}" if attempt.get("status") is not None else attempt.get("error") or "no answer"
    return f"{outcome_of(callback)} after {callback['attempts']} attempt(s), the last {answer}"


def final_check(scenario: Any, view: dict[str, Any]) -> list[str]:
    """After a conformance scenario: every reply the marketplace gave must have been right.

    A 2xx whose body does not match the reply schema fails, as does a callback the marketplace
    rejected, never answered or is still retrying, unless a step expected exactly that outcome."""
    expected = {(s.args.get("callback"), s.args.get("outcome", "delivered")) for s in scenario.steps
                if s.action == "expect" and "callback" in s.args}
    failures = []
    for callback in view["callbacks"]:
        kind, attempt = callback["kind"], callback.get("lastAttempt") or {}
        state = outcome_of(callback)
        if attempt.get("replyConforms") is False:
            errors = "; ".join(f"{e['path']}: {e['message']}" for e in attempt.get("schemaErrors") or [])
            failures.append(f"{kind} reply (status {attempt.get('status')}) does not match the expected schema: {errors}")
        elif state != "delivered" and (kind, state) not in expected:
            failures.append(f"{kind} callback to {callback['url']}: {describe(callback)}")
    return failures
