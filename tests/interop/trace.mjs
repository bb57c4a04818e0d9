// A stock client types a recorded editing trace into a pad while another stock client watches.
//
//   node trace.mjs --url ws://127.0.0.1:PORT/ws --pad ID --trace seph-blog1.json.gz
//        [--chunk 100] [--max-buffered 1048576]
//
// Each trace transaction is one Yjs transaction (so one update message, as a browser sends
// one per keystroke). Every --chunk transactions the typist yields to the event loop, and it
// waits while its socket holds more than --max-buffered unsent bytes.
//
// Prints {ok, length, sha256, typedMs, convergeMs, ...}; ok means the typist's own text and the
// watcher's text both equal the trace's endContent.

import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import {
  destroyAll, finish, fail, firstDifference, hardTimeout, makeClient, options, sha256, sleep,
  summary, synced, tick, waitFor
} from './common.mjs'

const opts = options({
  url: { type: 'string', required: true },
  pad: { type: 'string', required: true },
  trace: { type: 'string', required: true },
  chunk: { type: 'string', default: '100' },
  'max-buffered': { type: 'string', default: String(1 << 20) },
  timeout: { type: 'string', default: '55' }
})
const chunk = Number(opts.chunk)
const maxBuffered = Number(opts['max-buffered'])

let phase = 'loading'
let applied = 0
const typist = makeClient(opts.url, opts.pad, 'typist')
const watcher = makeClient(opts.url, opts.pad, 'watcher')
hardTimeout(Number(opts.timeout), () => ({
  phase, applied, typistLength: typist.text.length, watcherLength: watcher.text.length,
  clients: [summary(typist), summary(watcher)]
}))

try {
  const trace = JSON.parse(gunzipSync(readFileSync(opts.trace)).toString('utf8'))
  const expected = trace.endContent
  await Promise.all([synced(typist), synced(watcher)])
  if (typist.text.length !== 0) throw new Error('pad not empty')
  if (trace.startContent) typist.text.insert(0, trace.startContent)

  phase = 'typing'
  const started = Date.now()
  let maxBufferedSeen = 0
  for (const txn of trace.txns) {
    typist.doc.transact(() => {
      for (const [position, deleted, inserted] of txn.patches) {
        if (deleted > 0) typist.text.delete(position, deleted)
        if (inserted) typist.text.insert(position, inserted)
      }
    })
    applied++
    if (applied % chunk === 0) {
      await tick()
      const ws = typist.provider.ws
      if (!typist.provider.wsconnected || ws === null) {
        throw new Error(`typist disconnected after ${applied} transactions`)
      }
      maxBufferedSeen = Math.max(maxBufferedSeen, ws.bufferedAmount)
      while (ws.bufferedAmount > maxBuffered) await sleep(2)
    }
  }
  const typedMs = Date.now() - started
  const typed = typist.text.toString()
  if (typed !== expected) {
    throw new Error(`the replay itself differs from endContent at ${firstDifference(typed, expected)}`)
  }

  phase = 'converging'
  await waitFor(() => watcher.text.length === expected.length && watcher.text.toString() === expected,
    30000, 'the watcher holds endContent')
  const convergeMs = Date.now() - started - typedMs
  const watched = watcher.text.toString()
  const result = {
    ok: true,
    transactions: applied,
    length: watched.length,
    sha256: sha256(watched),
    typedMs,
    convergeMs,
    maxBufferedSeen,
    clients: [summary(typist), summary(watcher)]
  }
  destroyAll([typist, watcher])
  finish(result)
} catch (err) {
  const watched = watcher.text.toString()
  fail(err, {
    phase,
    applied,
    watcherLength: watched.length,
    clients: [summary(typist), summary(watcher)]
  })
}
