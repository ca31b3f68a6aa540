// Evaluate many IAM requests with @cloud-copilot/iam-simulate in one process (the tests' independent engine).
//
// stdin:  a JSON array of cases, each
//           {"policies": [{"name": "...", "policy": {...}}, ...],   identity policies of the principal
//            "action": "iam:GetUser", "resource": "arn:...", "principal": "arn:aws:iam::1:user/alice",
//            "context": {"aws:username": "alice", "aws:SourceIp": "203.0.113.5", ...},
//            "resourcePolicy": {...},   optional: e.g. a KMS key policy, a role's trust policy, a bus policy
//            "resourceAccount": "...",  optional: the resource's account (default: the principal's)
//            "serviceControlPolicies": [{"orgIdentifier": "r-root", "policies": [{"name", "policy"}]}, ...]}
//                                       optional: one entry per level, root first, the account last
// stdout: a JSON array, one result per case, in order:
//           {"result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied", "ignoredContextKeys": [...]}
//           or {"error": "<what the engine refused>"}
// Strict simulation mode: a context key that is not given is absent from the request.
import { runSimulation } from '@cloud-copilot/iam-simulate'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

function accountOf(principal) {
  return principal.split(':')[4]
}

async function simulate(testCase) {
  const simulation = {
    identityPolicies: testCase.policies,
    serviceControlPolicies: testCase.serviceControlPolicies ?? [],
    resourceControlPolicies: [],
    resourcePolicy: testCase.resourcePolicy ?? undefined,
    request: {
      principal: testCase.principal,
      action: testCase.action,
      resource: {
        resource: testCase.resource,
        accountId: testCase.resourceAccount ?? accountOf(testCase.principal),
      },
      contextVariables: testCase.context ?? {},
    },
  }
  try {
    const response = await runSimulation(simulation, { simulationMode: 'Strict' })
    if (response.resultType === 'error') {
      return { error: JSON.stringify(response.errors) }
    }
    const ignored =
      response.resultType === 'single'
        ? response.result.ignoredContextKeys ?? []
        : response.results.flatMap((r) => r.ignoredContextKeys ?? [])
    return { result: response.overallResult, ignoredContextKeys: ignored }
  } catch (err) {
    return { error: String(err?.stack ?? err) }
  }
}

const cases = JSON.parse(await readStdin())
const results = []
for (const testCase of cases) results.push(await simulate(testCase))
process.stdout.write(JSON.stringify(results))
