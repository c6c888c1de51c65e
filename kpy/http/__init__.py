"""kpy's HTTP side: one server in the broker process, on the broker's trio run.

Off unless ``http.listeners`` names an address (``http://127.0.0.1:8080``; several,
comma-separated; port 0 picks a free port, shown in the ready line). The modules:

- server.py: binds the sockets at start-up (with the Kafka listeners, so a port in use stops
  start-up with one line) and serves an ASGI app with hypercorn's trio worker; hypercorn's
  own log lines go to the ``kpy.http`` logger at DEBUG;
- app.py: the Starlette app: ``/health``, ``/metrics``, ``/static`` and the console's pages;
- console/: the web console's routes, templates and assets.

Importing this package pulls in hypercorn and Starlette: kpy.server imports it only when
``http.listeners`` is set, so a broker without HTTP starts without them.
"""
