"""kpy's HTTP side: one server in the broker process, on the broker's trio run.

Off unless ``http.listeners`` names an address (``http://127.0.0.1:8080``; several,
comma-separated; port 0 picks a free port, shown in the ready line). The modules:

- sockets.py: binds the sockets at start-up (with the Kafka listeners, so a port in use stops
  start-up with one line), without loading the HTTP stack;
- server.py: serves an ASGI app on them with hypercorn's trio worker, started once the broker
  is ready for Kafka clients (a request meanwhile waits in the backlog); hypercorn's own log
  lines go to the ``kpy.http`` logger at DEBUG;
- app.py: the Starlette app: ``/health``, ``/metrics``, ``/static`` and the console's pages;
- console/: the web console's routes, templates and assets.

Only server.py, app.py and console/ import hypercorn, Starlette and Jinja2, and kpy.server
imports them after start-up and only when ``http.listeners`` is set: they cost a broker's
ready line nothing.
"""
