"""
Tests of L{finger.app}.
"""
