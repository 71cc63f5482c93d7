"""
Tests for L{finger.metrics}.
"""
