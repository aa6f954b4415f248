"""ecr-mirror: container images and Helm charts into (Marketplace) ECR, immutably.

The package follows the stage's flow: ``spec``/``model``/``chart_inputs`` (validated
inputs), ``discovery`` (read-only: tokens, repositories, digests), ``plan`` (what is
missing, and the immutable-tag guard), ``apply`` (repositories, skopeo copies, the chart
push and its verification), ``chart``/``values_rewrite``/``hook`` (the pure chart
repacking) and ``license_check`` (the command the chart's hook runs).
"""
