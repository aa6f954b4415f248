"""mirror-ami: copy AMIs to regions, share them, publish SSM parameters and region tables.

The package follows the stage's flow: ``spec`` and ``model`` (the inputs, validated),
``regions``, ``durations``, ``ssm_names`` and ``tables`` (pure rules), ``discovery``
(read-only preflight) and ``planning`` (discovered state → ``plan``, which reports itself),
``engine`` (prepare and apply), ``scheduler``, ``workers``, ``region_state`` and
``region_steps`` (apply), ``ssm_publish`` and ``table_files`` (what apply writes), and
``result`` (what was done, reporting itself). AWS calls go through ``imgpub.aws``.
"""
