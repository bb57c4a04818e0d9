// Shared by the interop scripts: stock y-websocket clients in Node, polling with deadlines,
// one JSON line of results on stdout and a hard timeout so no script ever hangs.

import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

export { Y }

export const TEXT_NAME = 'content'

/** Command-line options (`--name value`), each also readable from `INTEROP_<NAME>`. */
export function options (spec) {
  const { values } = parseArgs({ options: spec, strict: true, allowPositionals: false })
  for (const [name, def] of Object.entries(spec)) {
    const env = process.env['INTEROP_' + name.toUpperCase().replaceAll('-', '_')]
    if (values[name] === undefined && env !== undefined) values[name] = env
    if (values[name] === undefined && def.required) fail(`missing --${name}`)
  }
  return values
}

/** Print one JSON line and exit: 0 when `result.ok`, 1 otherwise. */
export function finish (result) {
  const line = JSON.stringify(result) + '\n'
  process.stdout.write(line, () => process.exit(result.ok ? 0 : 1))
}

export function fail (error, extra = {}) {
  finish({ ok: false, error: String(error && error.stack ? error.stack : error), ...extra })
}

/** Exit with a failure after `seconds`, reporting `describe()` (what was still awaited). */
export function hardTimeout (seconds, describe = () => ({})) {
  const timer = setTimeout(() => {
    let extra = {}
    try { extra = describe() } catch (err) { extra = { describeError: String(err) } }
    fail(`hard timeout: still running after ${seconds} s`, extra)
  }, seconds * 1000)
  timer.unref()
  return timer
}

process.on('unhandledRejection', (err) => fail(err))
process.on('uncaughtException', (err) => fail(err))

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
export const tick = () => new Promise((resolve) => setImmediate(resolve))

/** Resolve once `predicate()` is truthy; reject after `timeoutMs` with `what` in the message. */
export async function waitFor (predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = predicate()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms: ${what}`)
    await sleep(10)
  }
}

/** `ws` sending these headers with its opening handshake (a browser's cookie, say). */
const withHeaders = (headers) => class extends WebSocket {
  constructor (url, protocols) {
    super(url, protocols, { headers })
  }
}

/**
 * A stock WebsocketProvider on its own Y.Doc. BroadcastChannel is off: Node 20 has a global
 * one, through which clients of one process would otherwise sync without the server.
 * `headers`: sent with every connection's handshake.
 */
export function makeClient (serverUrl, padId, name, { connect = true, headers = null } = {}) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(serverUrl, padId, doc, {
    WebSocketPolyfill: headers ? withHeaders(headers) : WebSocket,
    disableBc: true,
    connect
  })
  const client = {
    name,
    url: serverUrl,
    doc,
    provider,
    text: doc.getText(TEXT_NAME),
    closes: [], // close events seen from the server: {code, reason}; null for local closes
    terminal: null // set when the provider gave up reconnecting (a 44xx close code)
  }
  provider.on('connection-close', (event) => {
    client.closes.push(event ? { code: event.code, reason: String(event.reason || '') } : null)
  })
  provider.on('closed', (event) => { client.terminal = event })
  return client
}

export function synced (client, timeoutMs = 10000) {
  return waitFor(() => client.provider.synced, timeoutMs, `${client.name} synced with ${client.url}`)
}

export function stateVector (client) {
  return Buffer.from(Y.encodeStateVector(client.doc)).toString('base64')
}

export function sha256 (text) {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** Index of the first character where `a` and `b` differ, or -1. */
export function firstDifference (a, b) {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? -1 : n
}

export function summary (client) {
  return {
    name: client.name,
    url: client.url,
    synced: client.provider.synced,
    connected: client.provider.wsconnected,
    length: client.text.length,
    closes: client.closes,
    terminal: client.terminal
  }
}

export function destroyAll (clients) {
  for (const client of clients) {
    client.provider.destroy()
    client.doc.destroy()
  }
}

/** A small seeded generator (mulberry32), so a failing run can be replayed with its seed. */
export function random (seed) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  next.int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) // inclusive
  next.pick = (items) => items[Math.floor(next() * items.length)]
  return next
}
