"""The owner's web pages at /dashboard: server-rendered Jinja, one blueprint, French by default.

``core`` holds the blueprint, the login and the page helpers; each feature adds its pages as a
module here (registering views on ``bp``) and a navigation entry in ``nav``.
"""

from store_api.dashboard import (  # noqa: F401 (register the views)
    search,
    sheets,
    store,
    suppliers,
    tablets,
    webshop,
)
from store_api.dashboard.core import bp

__all__ = ["bp"]
