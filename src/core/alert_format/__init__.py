"""Alerts as messages people read. Pure: no I/O, no clock.

One alert model (``core.alerts.Alert``), three renderings, one module each:

- ``sns_email``: what SnsSink publishes - an email subject (at most 100 characters, says what
  happened), a plain-text body a person can act on, the ``type`` / ``severity`` message attributes for
  subscription filter policies, and the alert itself as a JSON envelope for the Slack notifier;
- ``slack_blocks``: a Block Kit payload (header, summary with counts, users most severe first, what to
  do, a context footer, a ``text`` fallback) within Slack's limits for any number of items;
- ``envelope``: the alert model as versioned JSON and back, so the notifier renders Slack from the same
  model the email was rendered from.

``common`` holds what the renderings share (console links, dates and ages, counts, trimming).
"""
