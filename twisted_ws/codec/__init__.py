"""
A sans-I/O WebSocket codec.
"""
