"""
twisted_ws: WebSocket for Twisted, every protocol version behind one API.
"""
