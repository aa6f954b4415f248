"""imgpub: publish cloud VM images and container artifacts from CI.

The package is one library behind many thin GitHub Actions; every action is also a CLI
stage (`imgpub <stage>`) so it runs the same way from a terminal and in tests.
"""

__version__ = "0.1.0"
