"""
Tests of L{finger.backends}.
"""
