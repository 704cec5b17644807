"""Errors the domain raises, each carrying VTEX's code and the HTTP status it maps to.

The HTTP layer renders them as ``{"error": {"code", "message", "exception": null}}``.
Codes are VTEX's where VTEX documents one (see the reference README, decision 9); the few
situations VTEX gives no code for use ``SIM…`` codes, listed in the README.
"""

from __future__ import annotations


class VtexError(Exception):
    status = 400

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "exception": None}}


class BadRequest(VtexError):
    status = 400


class NotFound(VtexError):
    status = 404


class Conflict(VtexError):
    status = 409


def order_not_found(order_id: str) -> NotFound:
    return NotFound("CHK0201", f"Order not found: {order_id}")


def cannot_cancel(order_id: str, status: str) -> BadRequest:
    return BadRequest("CHK0202", f"Order {order_id} cannot be cancelled in status {status}")


def wrong_status(expected: str, order_id: str, actual: str) -> Conflict:
    return Conflict(
        "OMS003",
        f"Order status should be {expected} to perform this action "
        f"(order {order_id} is {actual})",
    )
