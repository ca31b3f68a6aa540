"""IAM Guard's core: every piece of logic the Lambda functions, the CLI and the tests share.

Packages by capability, importing one way only (``tests/architecture/test_layers.py`` holds it)::

    org  ->  enforce, sweep  ->  guardrail, report  ->  policy  ->  aws  ->  model

``model`` (vocabulary, settings, errors) imports nothing else; ``aws`` is the only package that
touches boto3. ``docs/development.md`` says where a new event, finding, channel or AWS call goes.
"""
