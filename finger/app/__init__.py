"""
The application: the command-line options and L{finger.app.tap.makeService},
the only place that sees every front-end and back-end.
"""
