"""
The application: the command-line options (L{finger.app.tap}), read once
into a frozen L{finger.app.config.Config}, and
L{finger.app.compose.makeService}, the only place that sees every front-end
and back-end.
"""
