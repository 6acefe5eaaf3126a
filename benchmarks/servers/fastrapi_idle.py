"""fastrapi for the idle-connection benchmark: ``python fastrapi_idle.py PORT PING_INTERVAL
PING_TIMEOUT``. The app of ``fastrapi_app.py`` (``/ws`` echoes), with the server pinging every
connection (its protocol pings, the attendant's timers) as a deployment with the default
options does, only more often."""

from __future__ import annotations

import sys

from fastrapi_app import app

if __name__ == "__main__":
    port, interval, timeout = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    app.serve("127.0.0.1", port, ping_interval=interval, ping_timeout=timeout)
