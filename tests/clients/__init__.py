"""
Tests of L{finger.clients}.
"""
