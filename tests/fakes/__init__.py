"""Tiny fakes built on imgpub's fake-server base, to test the base itself."""
