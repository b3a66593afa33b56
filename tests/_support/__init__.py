"""
Helpers shared by the test modules of twisted_ws.

A test module imports what it shares from here, never from another test
module (C{tests.test_layout} checks it), so that each test module can be
read, run and changed on its own.
"""
