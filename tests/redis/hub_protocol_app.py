"""A hub route for the client tests across processes: ``fastrapi run
tests.redis.hub_protocol_app:app --port N``, on the Redis at ``FASTRAPI_HUB_URL`` if it is set,
else on the memory Hub of its process; 1,000 messages of history per topic."""

from __future__ import annotations

import os

from fastrapi import FastrAPI, Hub

url = os.environ.get("FASTRAPI_HUB_URL")
app = FastrAPI(hub=Hub(url, history_size=1000))
app.hub_route("/hub")


if __name__ == "__main__":
    app.serve("127.0.0.1", int(os.environ.get("PORT", "8000")))
