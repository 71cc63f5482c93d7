"""
Tests for L{finger.frontends.web}, one module for each of its modules.
"""
