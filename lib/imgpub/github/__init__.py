"""Adapters over PyGithub (and the pure GitHub facts they need); importing this package
imports no SDK, so the sandbox's fake GitHub can share :mod:`imgpub.github.git_objects`."""
