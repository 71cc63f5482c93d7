"""
Clients: the finger protocol client (and C{pyfinger}), and the command-line
Perspective Broker and XML-RPC clients.  A client never imports the
server's configuration.
"""
