#!/usr/bin/env node
// Opens the favorites page (page/index.html, served by the test) in headless Debian
// Chromium with playwright-core, waits for the page call analytics.js makes on load,
// clicks one item's "Favorite" button and waits for the track call to be answered.
//
//   node browser.js --url http://127.0.0.1:PAGEPORT/index.html?writeKey=KEY \
//                   --api http://127.0.0.1:HYDRANTPORT/v1 --item "Blue Kettle" \
//                   [--chromium /usr/bin/chromium] [--screenshot out.png] [--timeout-ms 30000]
//
// The last line on stdout is one JSON object: every request the page made (with
// POST bodies), every response (status, headers), failed requests, console
// messages and page errors, and `error` (null when all went well). The exit code is
// 1 when a step failed (the JSON still says what happened), 2 on bad arguments.
'use strict'

const fs = require('fs')
const { chromium } = require('playwright-core')

// As in the machine's notes: without the background-networking flags Chromium
// tries to reach Google's hosts, which this closed network refuses.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

function parseArgs(argv) {
  const out = { chromium: '/usr/bin/chromium', timeoutMs: 30000 }
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]
    const v = argv[i + 1]
    if (v === undefined) throw new Error(`no value for ${k}`)
    if (k === '--url') out.url = v
    else if (k === '--api') out.api = v.replace(/\/$/, '')
    else if (k === '--item') out.item = v
    else if (k === '--chromium') out.chromium = v
    else if (k === '--screenshot') out.screenshot = v
    else if (k === '--timeout-ms') out.timeoutMs = Number(v)
    else throw new Error(`unknown argument ${k}`)
  }
  for (const k of ['url', 'api', 'item']) if (!out[k]) throw new Error(`missing --${k}`)
  return out
}

async function main() {
  let args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (e) {
    console.error(`browser.js: ${e.message}`)
    return 2
  }
  if (!fs.existsSync(args.chromium)) {
    console.error(`browser.js: no Chromium at ${args.chromium} (Debian package chromium: scripts/install-deps.sh)`)
    return 2
  }

  const report = {
    requests: [],
    responses: [],
    failed: [],
    console: [],
    pageErrors: [],
    status: null,
    error: null,
  }
  const isApiPost = (req, letter) =>
    req.method() === 'POST' && req.url() === `${args.api}/${letter}`

  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: args.timeoutMs,
  })
  try {
    const context = await browser.newContext()
    const page = await context.newPage()
    page.setDefaultTimeout(args.timeoutMs)
    page.on('request', (req) => {
      report.requests.push({
        method: req.method(),
        url: req.url(),
        resourceType: req.resourceType(),
        headers: req.headers(),
        postData: req.postData(),
      })
    })
    page.on('response', async (res) => {
      const entry = { url: res.url(), method: res.request().method(), status: res.status(), headers: null }
      report.responses.push(entry)
      try {
        entry.headers = await res.allHeaders()
      } catch (_) {
        entry.headers = res.headers()
      }
    })
    page.on('requestfailed', (req) =>
      report.failed.push({ method: req.method(), url: req.url(), failure: req.failure() && req.failure().errorText })
    )
    page.on('console', (msg) => report.console.push(`${msg.type()}: ${msg.text()}`))
    page.on('pageerror', (err) => report.pageErrors.push(String(err && err.stack ? err.stack : err)))

    let step = 'loading the page and its page call'
    try {
      const pageCall = page.waitForResponse((res) => isApiPost(res.request(), 'p'))
      await page.goto(args.url, { waitUntil: 'load' })
      await pageCall

      step = `clicking Favorite on ${JSON.stringify(args.item)}`
      const trackCall = page.waitForResponse((res) => isApiPost(res.request(), 't'))
      await page.locator(`li[data-item=${JSON.stringify(args.item)}] button`).click()
      await trackCall

      step = 'waiting for the page to show the favorite'
      await page.waitForFunction(
        (item) => document.getElementById('status').textContent === `Favorited ${item}`,
        args.item
      )
      report.status = await page.textContent('#status')
      if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true })
    } catch (e) {
      report.error = `${step}: ${e && e.message ? e.message.split('\n')[0] : e}`
    }
    // let the response listeners finish reading headers
    await new Promise((r) => setTimeout(r, 200))
  } finally {
    await browser.close()
  }

  process.stdout.write(JSON.stringify(report) + '\n')
  if (report.error) {
    console.error(`browser.js: ${report.error}`)
    return 1
  }
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    console.error('browser.js:', err && err.stack ? err.stack : err)
    process.exitCode = 1
  }
)
