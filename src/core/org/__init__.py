"""Organizations mode: one hub sweeps and guards every member account through roles the spoke StackSet
deploys (``org/spoke.yaml``). The per-account work is the single-account core (``core.sweep.run``,
``core.enforce.enforcer``) run with per-account clients; this package only finds the accounts, fans out
and sums up. Account listing (``core.aws.organizations``), role assumption (``core.aws.assume``) and the
SCPs (``core.policy.scp``) live with their layers.

- ``routing``: an IAM client that reads with the audit role and writes with the write role, assumed only
  on the first write;
- ``fanout``: the bounded thread-pool driver (never more than ``max_concurrency`` accounts in flight);
- ``sweep``: one account's sweep, and the organisation's result with its totals;
- ``enforce``: an event handled in the account it names;
- ``report``: JSON / table / CSV of an organisation sweep, and the org digest alert;
- ``summary``: each member's result file (S3) and the totals;
- ``spoke``: the spoke's names and what the hub makes of changes to them;
- ``workflow``: the Step Functions definition of the hub's scheduled sweep, from the same settings.

May import: every other package of ``core``.
"""
