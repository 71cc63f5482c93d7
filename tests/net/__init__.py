"""
Tests of L{finger.net}.
"""
