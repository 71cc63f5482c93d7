"""
A finger service in the spirit of Twisted's "The Evolution of Finger".

One back-end answers "what is this user's status?"; adapters turn it into the
finger protocol (RFC 1288), a status setter, and the other front-ends.  Start
it with C{twistd finger} or C{twistd -ny finger.tac}.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
