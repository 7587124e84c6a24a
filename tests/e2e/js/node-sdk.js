#!/usr/bin/env node
// Sends one of each Segment call through @segment/analytics-node to a Tracking API
// (hydrant's [[segment]] kind = "tracking-api", or Segment's own), then flushes.
//
//   node node-sdk.js --host http://127.0.0.1:PORT --write-key KEY --run-id RUN [--path /v1/batch]
//
// Every event gets the messageId `<run>-<call>`. The last line on stdout is one JSON
// object: {"messageIds": {call: id}, "requests": [{url, method, headers, body}],
// "responses": [{url, status, body}], "errors": [...]}. The exit code is 1 when the
// SDK emitted an 'error' or an answer was not 2xx, 2 on bad arguments.
'use strict'

const { Analytics } = require('@segment/analytics-node')

function parseArgs(argv) {
  const out = { path: '/v1/batch' }
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]
    const v = argv[i + 1]
    if (v === undefined) throw new Error(`no value for ${k}`)
    if (k === '--host') out.host = v
    else if (k === '--write-key') out.writeKey = v
    else if (k === '--run-id') out.runId = v
    else if (k === '--path') out.path = v
    else throw new Error(`unknown argument ${k}`)
  }
  for (const k of ['host', 'writeKey', 'runId']) {
    if (!out[k]) throw new Error(`missing --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`)
  }
  return out
}

async function main() {
  let args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (e) {
    console.error(`node-sdk.js: ${e.message}`)
    return 2
  }
  const { host, writeKey, runId, path } = args

  const requests = []
  const responses = []
  const errors = []

  const analytics = new Analytics({
    writeKey,
    host,
    path,
    flushAt: 100, // one batch for the whole run, sent by closeAndFlush()
    flushInterval: 60000,
    maxRetries: 2,
    httpRequestTimeout: 15000,
  })
  analytics.on('http_request', (r) => requests.push(r))
  analytics.on('http_response', (r) =>
    responses.push({ url: r.url, status: r.status, headers: r.headers })
  )
  analytics.on('error', (err) => {
    errors.push(String((err && (err.reason || err.message || err.code)) || err))
  })

  const ids = {}
  const id = (call) => (ids[call] = `${runId}-${call}`)
  const userId = `node-user-${runId}`

  analytics.identify({
    userId,
    traits: { name: 'Ada Node', plan: 'pro', logins: 3 },
    messageId: id('identify'),
  })
  analytics.track({
    userId,
    event: 'Item Purchased',
    properties: { sku: 'SKU-42', price: 19.99, tags: ['a', 'b'] },
    messageId: id('track'),
  })
  analytics.page({
    userId,
    category: 'Docs',
    name: 'Getting Started',
    properties: { url: 'https://example.com/docs' },
    messageId: id('page'),
  })
  analytics.group({
    userId,
    groupId: `group-${runId}`,
    traits: { name: 'Hydrant Inc', employees: 12 },
    messageId: id('group'),
  })
  analytics.alias({
    userId,
    previousId: `anon-${runId}`,
    messageId: id('alias'),
  })
  analytics.screen({
    anonymousId: `anon-${runId}`,
    name: 'Home',
    properties: { variant: 'B' },
    messageId: id('screen'),
  })

  await analytics.closeAndFlush({ timeout: 30000 })

  const bad = responses.filter((r) => r.status < 200 || r.status > 299)
  for (const r of bad) errors.push(`HTTP ${r.status} from ${r.url}`)
  if (requests.length === 0) errors.push('the SDK sent no request')

  process.stdout.write(JSON.stringify({ messageIds: ids, requests, responses, errors }) + '\n')
  if (errors.length) {
    console.error(`node-sdk.js: ${errors.join('; ')}`)
    return 1
  }
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    console.error('node-sdk.js:', err && err.stack ? err.stack : err)
    process.exitCode = 1
  }
)
