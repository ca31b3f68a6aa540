"""Organizations mode: one hub sweeps and guards every member account through roles the spoke StackSet
deploys (``org/spoke.yaml``). The per-account work is the single-account core (``core.sweep.run``,
``core.enforce.actions``) run with per-account clients; this package only finds the accounts, gets the
credentials, fans out, and sums up.

- ``accounts``: the Organizations adapter, account selection, StackSet targets (our own computation);
- ``access``: one boto3 session per process, one ``AssumeRole`` per account and role, per-account clients;
- ``routing``: an IAM client that reads with the audit role and writes with the write role, assumed only
  on the first write;
- ``fanout``: the bounded thread-pool driver (never more than ``max_concurrency`` accounts in flight);
- ``sweep``: one account's sweep, and the organisation's result with its totals;
- ``enforce``: an event handled in the account it names;
- ``report``: JSON / table / CSV of an organisation sweep, and the org digest alert;
- ``scp``: the optional protection SCP;
- ``workflow``: the Step Functions definition of the hub's scheduled sweep, from the same settings.
"""
