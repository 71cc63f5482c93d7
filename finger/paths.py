# -*- test-case-name: tests.test_paths -*-
"""
Finding the files that ship beside the code: the templates and the sample
status file.

An installed copy keeps them inside the package (C{finger/templates},
C{finger/etc}); a checkout keeps them at its top level (C{templates/},
C{etc/}).  Either way, L{dataPath} finds them.
"""

import os

_package = os.path.dirname(os.path.abspath(__file__))


def dataPath(*segments: str) -> str:
    """
    The path of a shipped data file or directory, such as
    C{dataPath("etc", "users.sample")}.
    """
    installed = os.path.join(_package, *segments)
    if os.path.exists(installed):
        return installed
    return os.path.join(os.path.dirname(_package), *segments)
