"""The access log of the served app keeps nothing that identifies a webshop visitor."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_access_log_format_has_no_address_user_agent_referrer_or_query() -> None:
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    log_format = conf["access_log_format"]
    # gunicorn atoms: h/{x-forwarded-for}i remote address, a user agent, f referrer,
    # r and q the request line / query string.
    for atom in ("%(h)s", "%(a)s", "%(f)s", "%(r)s", "%(q)s", "forwarded"):
        assert atom not in log_format
    assert "%(U)s" in log_format and "%(s)s" in log_format
