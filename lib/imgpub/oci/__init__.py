"""Adapters for OCI registries: references, media types, oras-py, skopeo, chart repositories."""
