"""What sellers and the owner read about tasks and help alerts, in their language.

The service says what happened with a code and parameters (a refill task, an alert); the edge
(the API, the bridge's notices, the owner's pages) renders the sentence in the reader's locale:
French by default, English on request. The codes never change; the sentences may.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store_api.i18n import N_, text

MESSAGES: Mapping[str, str] = {
    "task.refill": N_("Refill lane %(lane)s: %(quantity)s x %(name)s from the backroom"),
    "help.open": N_("A customer is waiting for help at lane %(lane)s (%(product)s)"),
    "help.open.no_product": N_("A customer is waiting for help at lane %(lane)s"),
    "help.escalated": N_("Still no one at lane %(lane)s (%(product)s): the alert was escalated"),
    "help.escalated.no_product": N_("Still no one at lane %(lane)s: the alert was escalated"),
    "help.acknowledged": N_("%(seller)s went to lane %(lane)s (%(product)s)"),
    "help.acknowledged.no_product": N_("%(seller)s went to lane %(lane)s"),
}


def render(locale: str, code: str, params: Mapping[str, Any]) -> str:
    """The sentence for ``code`` in ``locale`` (an unknown code: the code itself)."""
    msgid = MESSAGES.get(code)
    if msgid is None:
        return code
    return text(locale, msgid, **params)


def lane_label(shelf: str, lane: str) -> str:
    """``A`` and ``2`` → ``A2``, as the shelf labels print it."""
    return f"{shelf}{lane}"


def refill(task: Any) -> tuple[str, dict[str, Any]]:
    """A refill task's code and parameters (any object with shelf, lane, quantity, name)."""
    return "task.refill", {
        "lane": lane_label(task.shelf, task.lane),
        "quantity": task.quantity,
        "name": task.name,
    }


def help_alert(
    status: str, shelf: str, lane: str, product: str | None, seller: str | None = None
) -> tuple[str, dict[str, Any]]:
    """A help alert's code and parameters, by its status (open, escalated, acknowledged)."""
    code = f"help.{status}" if f"help.{status}" in MESSAGES else "help.open"
    if code == "help.acknowledged" and not seller:
        code = "help.open"
    params: dict[str, Any] = {"lane": lane_label(shelf, lane), "seller": seller or ""}
    if product:
        params["product"] = product
    else:
        code += ".no_product"
    return code, params
