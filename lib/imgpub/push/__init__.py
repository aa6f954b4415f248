"""imgpub push: staged images pushed to every destination a StArMap-style mapping names.

The push resolves each image (a push item) through the mapping into destinations, turns
each destination into runs of the existing stages (build-ami, mirror-ami,
marketplace-changeset, azure-gallery) with per-account credentials, prints that plan, and
runs it through :func:`imgpub.stage.run_stage`. It adds no cloud logic of its own.
"""
