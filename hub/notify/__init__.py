"""Alerts for those who hold no websocket: an organization's webhooks and e-mail addresses.

The alert bus (``schema.alert_bus``) asks ``standing.StandingTargets`` which audiences
the registered targets make up and hands it what it detected for them; that puts one
row per (target, alert) in the outbox (``hub.records.outbox``), and the ``dispatcher``
sends what is due, through ``webhook`` (signed JSON over HTTPS) or ``email`` (an SMTP
relay), retrying with backoff what may yet go through. ``commands`` is the operator's
``partnerhub webhooks`` and ``partnerhub alerts email``.
"""
