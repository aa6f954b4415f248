"""azure-gallery: a disk image into a page blob, published as Compute Gallery image versions.

The package is split the way the stage flows: ``spec`` and ``inputs`` (the declared and the
validated inputs), ``names`` (every name, pure), ``discover`` (read-only: the image, the
blob index, what the gallery holds), ``plan`` (findings → what to do, pure), ``publish``
(apply: upload, definitions, versions, fanned out), ``result`` (what apply did), and
``report``/``summary``/``progress`` (targets, outputs, the job summary and the log). The
Azure SDKs are reached only through :mod:`imgpub.azure`.
"""
