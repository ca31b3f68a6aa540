"""The demo: the whole product played on an embedded AWS emulator (``iam-guard demo``, ``make demo``).

Adapters only (the emulator, a local Slack receiver, a fake Lambda context) plus the story that drives
the real handlers. moto is imported here and nowhere in ``core`` or ``handlers``.
"""
