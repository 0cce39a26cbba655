"""gunicorn settings of the production image (``gunicorn -c docker/production/gunicorn.conf.py``).

Tuned for a Swarm task: behind the stack's nginx proxy, on a read-only root
filesystem with a tmpfs on /tmp, stopped with SIGTERM and killed after the
service's ``stop_grace_period`` (30s in deploy/stack.yml).
"""

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = "0.0.0.0:8000"

# WEB_CONCURRENCY: worker processes per task. Scale with replicas first; raise
# it (and the service's memory limit) for more throughput per task.
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 1)

# On SIGTERM workers finish their requests for up to this many seconds. Keep it
# below stop_grace_period, so gunicorn exits on its own before Swarm kills it.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# A worker silent for this long is killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
# Longer than nginx's upstream keep-alive is never needed: nginx closes first.
keepalive = 5

# Recycle workers now and then (a leak stays bounded). The health probe stays
# "alive" through it: its marker lives in the container's /tmp.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10

# The worker heartbeat file must be on a RAM file system: /dev/shm is one in
# every container, and the root filesystem is read-only.
worker_tmp_dir = "/dev/shm"  # noqa: S108 - a tmpfs, per container

# X-Forwarded-Proto is trusted from these addresses only: the proxy reaches the
# app over a Swarm overlay network (10.0.0.0/8 by default; private ranges cover
# a customised address pool). Nothing outside the stack reaches port 8000.
forwarded_allow_ips = os.environ.get(
    "FORWARDED_ALLOW_IPS", "127.0.0.1,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
)

# Logs to stdout/stderr, where `docker service logs` finds them. The client
# address is the one the proxy saw (X-Forwarded-For), not the proxy's own.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '%({x-forwarded-for}i)s - %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
)

# gunicorn >= 25.1 opens a control socket under $HOME by default; $HOME is on
# the read-only root filesystem and nothing here uses gunicornc. (Older
# versions ignore the unknown setting.)
control_socket_disable = True
