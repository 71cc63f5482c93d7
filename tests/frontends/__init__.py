"""
Tests of L{finger.frontends}.
"""
