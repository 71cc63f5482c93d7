"""
Tests of L{finger.frontends.pb}, the finger service over Perspective Broker.
"""
