// A stock client types while its server gets killed: what was echoed must have been durable.
//
//   node durability.mjs --url ws://127.0.0.1:PORT/ws --pad ID [--ready-tokens 30]
//        [--interval-ms 25] [--burst 1]
//
// The typist appends tokens `[0] [1] [2] ...` at the end of the text, --burst of them (each
// its own transaction, so its own update message) every --interval-ms, and never stops on its
// own. Two views of what the server has sent out:
//  - `echoed`: the typist's own echo, read by wrapping its sync message handler and applying
//    every update/step-2 payload the server sends to a shadow document;
//  - `watched`: the text of a second stock client, the watcher.
// The server sends an update out only after it is in Valkey, so both must survive a kill.
//
// Protocol with the test: once both views hold --ready-tokens tokens, print one line
// {"ready": true, ...}; the test then SIGKILLs the server. When both connections have closed,
// the clients are destroyed (so the typist's unsent edits never reach a later server) and the
// result line {ok, typed, echoed, watched, ...} is printed.

import * as decoding from 'lib0/decoding'
import {
  Y, destroyAll, finish, fail, hardTimeout, makeClient, options, sleep, summary, synced, waitFor
} from './common.mjs'

const opts = options({
  url: { type: 'string', required: true },
  pad: { type: 'string', required: true },
  'ready-tokens': { type: 'string', default: '30' },
  'interval-ms': { type: 'string', default: '25' },
  burst: { type: 'string', default: '1' },
  timeout: { type: 'string', default: '25' }
})
const readyTokens = Number(opts['ready-tokens'])
const intervalMs = Number(opts['interval-ms'])
const burst = Number(opts.burst)

let phase = 'connecting'
const typist = makeClient(opts.url, opts.pad, 'typist')
const watcher = makeClient(opts.url, opts.pad, 'watcher')
const shadow = new Y.Doc()
const shadowText = shadow.getText('content')
let typed = 0
let typing = true
const views = { watched: null, echoed: null, typed: null }

hardTimeout(Number(opts.timeout), () => ({
  phase, typed, echoed: shadowText.toString(), watched: watcher.text.toString(),
  clients: [summary(typist), summary(watcher)]
}))

// Peek at every sync message the server sends the typist before the stock handler reads it.
const stockSyncHandler = typist.provider.messageHandlers[0]
typist.provider.messageHandlers[0] = (encoder, decoder, provider, emitSynced, messageType) => {
  const peek = decoding.clone(decoder)
  const syncType = decoding.readVarUint(peek)
  if (syncType === 1 || syncType === 2) Y.applyUpdate(shadow, decoding.readVarUint8Array(peek))
  stockSyncHandler(encoder, decoder, provider, emitSynced, messageType)
}

const tokens = (text) => (text.match(/\[\d+\]/g) || []).length

typist.provider.on('connection-close', () => {
  typing = false
  if (views.typed === null) {
    views.typed = typist.text.toString()
    views.echoed = shadowText.toString()
  }
})
watcher.provider.on('connection-close', () => {
  if (views.watched === null) views.watched = watcher.text.toString()
})

try {
  await Promise.all([synced(typist), synced(watcher)])
  if (typist.text.length !== 0) throw new Error(`pad not empty: ${typist.text.toString()}`)

  phase = 'typing'
  const typer = (async () => {
    while (typing) {
      for (let n = 0; n < burst && typing; n++) {
        typist.text.insert(typist.text.length, `[${typed}]`)
        typed++
      }
      await sleep(intervalMs)
    }
  })()

  await waitFor(
    () => tokens(watcher.text.toString()) >= readyTokens && tokens(shadowText.toString()) >= readyTokens,
    10000, `watcher and echo hold ${readyTokens} tokens`
  )
  process.stdout.write(JSON.stringify({ ready: true, typed, watchedTokens: tokens(watcher.text.toString()) }) + '\n')

  phase = 'waiting for the server to die'
  await waitFor(() => views.typed !== null && views.watched !== null, 15000, 'both connections closed')
  destroyAll([typist, watcher])
  await typer
  finish({
    ok: true,
    typed: views.typed,
    echoed: views.echoed,
    watched: views.watched,
    tokens: { typed: tokens(views.typed), echoed: tokens(views.echoed), watched: tokens(views.watched) },
    clients: [summary(typist), summary(watcher)]
  })
} catch (err) {
  fail(err, { phase, typed, clients: [summary(typist), summary(watcher)] })
}
