// Evaluate recorded AWS calls of our Lambda roles with @cloud-copilot/iam-simulate (tests/engine).
// Like tests/engine/simulate.mjs, plus an optional resource policy per case: KMS authorizes only
// through the key policy, so a call using the alert key is evaluated against the template's key policy.
//
// stdin:  [{"policies": [{"name", "policy"}], "resourcePolicy": {...} | null, "action", "resource",
//           "principal", "context": {}}]
// stdout: [{"result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"} | {"error": "..."}]
import { pathToFileURL } from 'node:url'
import { resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const entry = resolve(here, '../engine/node_modules/@cloud-copilot/iam-simulate/dist/esm/index.js')
const { runSimulation } = await import(pathToFileURL(entry).href)

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

async function simulate(testCase) {
  const simulation = {
    identityPolicies: testCase.policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: testCase.resourcePolicy ?? undefined,
    request: {
      principal: testCase.principal,
      action: testCase.action,
      resource: { resource: testCase.resource, accountId: testCase.principal.split(':')[4] },
      contextVariables: testCase.context ?? {},
    },
  }
  try {
    const response = await runSimulation(simulation, { simulationMode: 'Strict' })
    if (response.resultType === 'error') return { error: JSON.stringify(response.errors) }
    return { result: response.overallResult }
  } catch (err) {
    return { error: String(err?.stack ?? err) }
  }
}

const cases = JSON.parse(await readStdin())
const results = []
for (const testCase of cases) results.push(await simulate(testCase))
process.stdout.write(JSON.stringify(results))
