"""mirror-ami: copy AMIs to regions, share them, publish SSM parameters and region tables.

The package is split the way the stage flows: ``model`` (validated inputs), ``regions``,
``ssm_names`` and ``tables`` (pure rules), ``plan`` (discovered state → what is missing),
``engine`` (apply with bounded concurrency against the adapters in ``imgpub.aws``).
"""
