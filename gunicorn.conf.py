"""gunicorn settings for `make run` and production (override with COMPTOIR_BIND etc.).

gthread workers: each worker serves several requests at once with threads; the stock rules are
enforced by the database, not by workers. ``store_api.serving.DeadlineThreadWorker`` is gthread
with a deadline on reading each request (COMPTOIR_REQUEST_READ_SECONDS, 15 s): a client that
sends half a request and waits loses its connection instead of keeping a thread. In production
nginx sits in front (config/nginx/comptoir.conf) and buffers whole requests, so slow clients
never reach a thread at all (docs/security.md, "The production front").

Live event streams (/api/v1/events/stream) hold a thread each for as long as they are open.
A worker accepts at most COMPTOIR_STREAM_MAX_PER_WORKER of them (503 + Retry-After beyond),
and gets that many threads plus API_THREADS more by default, so tablets following the stream
can never take the threads the API needs (8 streams + 8 = 16 threads per worker). A gthread
worker's liveness does not depend on its requests finishing, so long streams do not trip
``timeout``. A graceful restart waits up to ``graceful_timeout`` and then cuts the remaining
streams; their clients reconnect with Last-Event-ID and lose nothing.
"""

import os
from typing import Any

from store_api.config import DEFAULTS, instance_folder

# Threads always left for ordinary API requests, whatever the streams do.
API_THREADS = 8

stream_max = int(
    os.environ.get("COMPTOIR_STREAM_MAX_PER_WORKER") or DEFAULTS["STREAM_MAX_PER_WORKER"]
)

bind = os.environ.get("COMPTOIR_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("COMPTOIR_WORKERS", "2"))
worker_class = "store_api.serving.DeadlineThreadWorker"
threads = int(os.environ.get("COMPTOIR_THREADS") or stream_max + API_THREADS)
timeout = 60
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("COMPTOIR_ACCESS_LOG", "-")
# No client address, user agent, referrer or query string in the access log: the webshop's
# visitors reach POST /api/v1/collect, and their IP and user agent are never kept anywhere
# (docs/clickstream.md). Time, method, path, status, size and duration are enough to operate.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
# gunicorn's control socket (`gunicornc -s PATH`) is ~/.gunicorn/gunicorn.ctl by default, one
# per user: a second instance on the host (the demo next to the shop, tests) would take it
# over and delete it on exit. One per instance folder instead, or COMPTOIR_CONTROL_SOCKET.
control_socket = os.environ.get("COMPTOIR_CONTROL_SOCKET") or str(
    instance_folder() / "gunicorn.ctl"
)
# Paths arrive decoded: "%0A" is a newline. Every field is escaped, so no request can write a
# line of its own into the log.
logger_class = "store_api.serving.SafeAccessLogger"


def on_starting(server: Any) -> None:
    """Say so at start-up when an override lets streams take every thread."""
    if server.cfg.threads <= stream_max:
        server.log.warning(
            "threads=%s <= COMPTOIR_STREAM_MAX_PER_WORKER=%s: open event streams can take "
            "every thread of a worker and starve the API",
            server.cfg.threads,
            stream_max,
        )


def post_worker_init(worker: Any) -> None:
    """Load the recommender model (and run one suggestion) before the worker takes requests:
    its first recommendation call is then as fast as the others (docs/recommendations.md).
    A retrain is picked up later in the background, without a restart."""
    if os.environ.get("COMPTOIR_RECOMMENDER_WARM_UP", "1") == "0":  # bench baseline only
        worker.log.info("worker %s ready, recommender model not loaded", worker.pid)
        return
    from store_api.recommendations.routes import warm_up

    version = warm_up(worker.wsgi)
    worker.log.info("worker %s ready, recommender model %s", worker.pid, version or "none")
