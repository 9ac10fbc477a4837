"""The owner's navigation bar: one entry per page group, in this order.

A feature adds its pages with one line here (endpoint, label); labels are lazy so each request
shows them in its own language.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: LazyString
    # Other endpoints that light this entry up (a page's sub-pages).
    also: tuple[str, ...] = ()


NAV: list[NavItem] = [
    NavItem("dashboard.overview", _l("Webshop"), ("dashboard.report_page",)),
    NavItem("dashboard.store", _l("In store")),
    NavItem("dashboard.search_page", _l("Search"), ("dashboard.synonym_edit",)),
    NavItem(
        "dashboard.tablets",
        _l("Tablets"),
        ("dashboard.tablets_pair", "dashboard.tablets_revoke_confirm", "dashboard.tablets_revoke"),
    ),
    NavItem(
        "dashboard.suppliers_page",
        _l("Suppliers"),
        ("dashboard.supplier_page", "dashboard.supplier_mapping", "dashboard.feed_page"),
    ),
    NavItem(
        "dashboard.sheets_page",
        _l("Product sheets"),
        ("dashboard.sheet_page", "dashboard.sheet_rule"),
    ),
]
