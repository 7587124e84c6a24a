#!/usr/bin/env node
// Signs webhook payloads the way GitHub does, with GitHub's own
// @octokit/webhooks-methods (sign → "sha256=<hex>"), for tests/e2e/test_webhooks.py.
//
//   echo '{"secret": "...", "payloads": ["...", ...]}' | node octokit-sign.mjs
//
// The one line on stdout is a JSON object: {"version": "<package version>",
// "signatures": ["sha256=...", ...], "verified": [true, ...]} (each signature also
// checked with the package's own verify). Exit code 2 on bad input.
import { sign, verify } from '@octokit/webhooks-methods'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

let input
try {
  input = JSON.parse(await readStdin())
  if (typeof input.secret !== 'string' || !Array.isArray(input.payloads)) throw new Error('want {secret, payloads}')
} catch (e) {
  process.stderr.write(`octokit-sign: ${e.message}\n`)
  process.exit(2)
}

const signatures = []
const verified = []
for (const payload of input.payloads) {
  const signature = await sign(input.secret, payload)
  signatures.push(signature)
  verified.push(await verify(input.secret, payload, signature))
}
process.stdout.write(JSON.stringify({ version: sign.VERSION, signatures, verified }) + '\n')
