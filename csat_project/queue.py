"""The task queue's broker on Redis."""

import os
import threading

from django_q.brokers.redis_broker import Redis


class SharedRedis(Redis):
    """django-q2's Redis broker, with one Redis client (and its pool of connections) per
    process. django-q2 makes a broker for every `async_task`, and its Redis broker a new
    client: a new TCP connection and handshake for every task queued (a close, a reply's
    email, an alert), on the request's path. The client is kept per process id, so a forked
    worker makes its own."""

    _clients: dict[int, object] = {}
    _lock = threading.Lock()

    @staticmethod
    def get_connection(list_key: str | None = None):
        pid = os.getpid()
        client = SharedRedis._clients.get(pid)
        if client is None:
            with SharedRedis._lock:
                client = SharedRedis._clients.get(pid)
                if client is None:
                    client = Redis.get_connection(list_key)
                    SharedRedis._clients = {pid: client}
        return client
