"""
Tests for the finger service.
"""
