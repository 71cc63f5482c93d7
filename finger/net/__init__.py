"""
Network plumbing every front-end shares: the address grammar, listening on
endpoint descriptions, connection limits and TLS settings.
"""
