"""
Tests for L{finger.frontends.irc}.
"""
