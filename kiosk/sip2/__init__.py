"""SIP2: the desk as a server for the school's other self-service machines (docs/sip2.md).

``protocol`` reads and writes the messages (no data, no network), ``handlers`` answers
each request of one terminal's session, ``adapter`` is the only door to the library's
data, ``server`` the network, and ``cli`` the ``kiosk sip2`` commands.
"""
