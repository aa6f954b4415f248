"""Notifications: a stage's outcome (or a whole release's) posted to an incoming webhook.

``settings`` reads the common inputs (``notify-webhook``, ``notify-channel``,
``notify-on``), ``message`` renders the text from the results document (pure), ``poster``
delivers it with retries, and ``hook`` joins them for ``run_stage`` and ``imgpub notify``.
A notification never decides a run's exit code.
"""
