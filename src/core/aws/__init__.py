"""The AWS adapter: the only package that imports boto3 or botocore, and only lazily.

Owns the client factory (``clients``: timeouts, one retry layer), the ``Gateway`` base (retries,
call counting, error translation into ``core.model.errors``), paging, and one gateway per service
(IAM, CloudFormation, STS and role assumption, Organizations, Security Hub, S3 result files, the
infrastructure the self-check reads, the CloudFormation custom-resource response).

May import: ``core.model``.
"""
