"""gunicorn settings for `make run` and production (override with COMPTOIR_BIND etc.).

gthread workers: each worker serves several requests at once with threads, so a slow client
does not hold a whole process; the stock rules are enforced by the database, not by workers.
"""

import os

bind = os.environ.get("COMPTOIR_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("COMPTOIR_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("COMPTOIR_THREADS", "4"))
timeout = 60
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("COMPTOIR_ACCESS_LOG", "-")
