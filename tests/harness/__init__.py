"""The test harness: one of each stand-in, shared by every test area (fixtures in tests/conftest.py).

- Lambda context: ``demo.lambda_context.FakeLambdaContext`` (the demo's, so there is one).
- AWS emulator: ``demo.emulator.start_moto_server`` - moto's threaded server on 127.0.0.1; fixtures
  ``moto_server`` (one per test process) and ``moto_endpoint`` (that server, emptied before and after
  the test).
- Local HTTP receiver (Slack webhook and CloudFormation response URL): ``demo.slack_receiver``; fixture
  ``receiver``.
- Powertools metrics: ``tests.harness.metrics``; fixture ``lambda_metrics`` (pins the namespace and
  service, and records every EMF document the handlers flush).
- Scripted AWS answers: ``tests.harness.answers`` (transport failures under moto or a Stubber).
"""
