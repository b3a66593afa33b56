"""
Ready-made WebSocket applications served by C{twistd websocket}:

  - L{twisted_ws.apps.echo}: sends every message back (the conformance and
    benchmark target);
  - L{twisted_ws.apps.chat}: a chat hub with rooms, and a demo page in
    C{static/} to use it from a browser.

Each module has a C{makeFactory(options)} function returning a protocol
factory, and a C{defaultOptions} dict of L{twisted_ws.Options} fields it
prefers over the library's defaults.
"""
