"""marketplace-changeset's core: each released AMI as a new version of its Marketplace product.

``model`` validates the inputs (``spec`` declares them), ``amis``/``products``/``render``/
``entity`` are the pure pieces (which AMIs, which product, the change set, what a product
holds), ``discovery`` reads EC2 and the catalog and plans (``plan``, ``items``),
``validation`` lets a dry run ask the API, ``apply`` submits and waits (``waiting``), and
``result``/``report``/``remedies`` turn what happened into targets, outputs and a summary.
"""
