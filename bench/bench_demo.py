"""The demo story as a benchmark: AWS calls IAM Guard makes per step, end to end through the handlers.

Run from the repository root: ``python -m bench.bench_demo`` (``make bench`` runs it with the others).
The figures cover the whole path (custom resource, enforcer, sweep, SNS, Slack notifier) on a moto
server on 127.0.0.1; the per-event figures of the enforcer alone are in bench_enforcer.
"""

from __future__ import annotations

from demo.report import calls_table
from demo.story import play_demo


def main() -> None:
    run = play_demo(lambda _line: None)
    titles = {s.number: s.title for s in run.steps}
    print("AWS calls by IAM Guard per step of the demo story (people's own calls not counted)")
    for number, title in titles.items():
        print(f"  {number}. {title}")
    for line in calls_table(run):
        print(f"  {line}")
    print(f"  Slack messages posted: {len(run.slack_payloads)}; wall time {run.seconds:.2f} s")
    print("  (the Slack notifier's secretsmanager:GetSecretValue goes through Powertools' own boto3")
    print("   session and is not in these counts: at most one per container, cached 5 minutes)")


if __name__ == "__main__":
    main()
