// Several stock clients edit one pad at the same time, then must converge.
//
//   node edit.mjs --url ws://127.0.0.1:PORT/ws[,ws://127.0.0.1:PORT2/ws] --pad ID
//        [--clients 4] [--seconds 3] [--interval-ms 40] [--offline-client -1] [--seed N]
//
// Client i connects to url[i % urls]. Each one makes random edits at random positions every
// ~interval ms: inserts of filler words, deletes of filler, and inserts of its own marker
// strings `<cI.N>`, which nobody ever deletes or splits. With --offline-client K, client K
// disconnects (provider.disconnect()) for the middle half of the run, keeps editing offline,
// then reconnects (provider.connect()).
//
// Prints {ok, text, markers: {name: [...]}, ...}; ok means every client ended connected and
// synced with the same text and state vector, holding every client's markers exactly once.

import {
  destroyAll, finish, fail, hardTimeout, makeClient, options, random, sleep, stateVector,
  summary, synced, waitFor
} from './common.mjs'

const opts = options({
  url: { type: 'string', required: true },
  pad: { type: 'string', required: true },
  clients: { type: 'string', default: '4' },
  seconds: { type: 'string', default: '3' },
  'interval-ms': { type: 'string', default: '40' },
  'offline-client': { type: 'string', default: '-1' },
  seed: { type: 'string' },
  timeout: { type: 'string', default: '25' }
})
const urls = opts.url.split(',')
const count = Number(opts.clients)
const seconds = Number(opts.seconds)
const intervalMs = Number(opts['interval-ms'])
const offlineIndex = Number(opts['offline-client'])
const seed = opts.seed !== undefined ? Number(opts.seed) : Math.floor(Math.random() * 2 ** 31)

let phase = 'connecting'
const clients = []
const markers = {} // client name -> markers it inserted
const counts = {} // client name -> {insert, delete, marker, offline}

hardTimeout(Number(opts.timeout), () => ({ phase, seed, clients: clients.map(describe) }))

const MARKER = /<[^<>]*>/g
const LETTERS = 'abcdefghijklmnopqrstuvwxyz '

/** Per position of `text`: is it a marker character? */
function markerMask (text) {
  const mask = new Uint8Array(text.length)
  for (const match of text.matchAll(MARKER)) mask.fill(1, match.index, match.index + match[0].length)
  return mask
}

/** Positions where an insert splits no marker: not strictly inside one. */
function insertPositions (text, mask) {
  const positions = []
  for (let i = 0; i <= text.length; i++) {
    if (i === 0 || i === text.length || !(mask[i - 1] && mask[i] && text[i - 1] !== '>')) {
      positions.push(i)
    }
  }
  return positions
}

function edit (client, rng) {
  const text = client.text.toString()
  const mask = markerMask(text)
  const filler = []
  for (let i = 0; i < text.length; i++) if (!mask[i]) filler.push(i)
  const tally = counts[client.name]
  const offline = !client.provider.wsconnected
  if (filler.length > 20 && rng() < 0.35) {
    // Delete a run of 1-4 filler characters, never a marker character.
    const start = rng.pick(filler)
    let length = 1
    const want = rng.int(1, 4)
    while (length < want && start + length < text.length && !mask[start + length]) length++
    client.text.delete(start, length)
    tally.delete++
  } else {
    const at = rng.pick(insertPositions(text, mask))
    if (rng() < 0.3) {
      const marker = `<${client.name}.${markers[client.name].length}${offline ? 'off' : ''}>`
      markers[client.name].push(marker)
      client.text.insert(at, marker)
      tally.marker++
    } else {
      let word = ''
      for (let n = rng.int(1, 6); n > 0; n--) word += LETTERS[rng.int(0, LETTERS.length - 1)]
      client.text.insert(at, word)
      tally.insert++
    }
  }
  if (offline) tally.offline++
}

async function run (client, index) {
  const rng = random(seed + 7919 * (index + 1))
  const start = Date.now()
  const end = start + seconds * 1000
  const offline = index === offlineIndex
  let state = 'online'
  while (Date.now() < end) {
    await sleep(rng.int(Math.ceil(intervalMs / 2), Math.ceil(intervalMs * 1.5)))
    const elapsed = (Date.now() - start) / (seconds * 1000)
    if (offline && state === 'online' && elapsed >= 0.25) {
      client.provider.disconnect()
      state = 'offline'
    } else if (offline && state === 'offline' && elapsed >= 0.75) {
      if (client.provider.wsconnected) throw new Error('the offline client was still connected')
      client.provider.connect()
      state = 'reconnected'
    }
    edit(client, rng)
  }
  if (offline && state === 'offline') client.provider.connect()
}

function describe (client) {
  return {
    ...summary(client),
    stateVector: stateVector(client),
    counts: counts[client.name],
    missing: missingMarkers(client.text.toString())
  }
}

function missingMarkers (text) {
  const missing = []
  for (const list of Object.values(markers)) {
    for (const marker of list) if (text.split(marker).length !== 2) missing.push(marker)
  }
  return missing
}

function converged () {
  if (!clients.every((c) => c.provider.synced && c.provider.wsconnected)) return false
  const text = clients[0].text.toString()
  const vector = stateVector(clients[0])
  return clients.every((c) => c.text.toString() === text && stateVector(c) === vector) &&
    missingMarkers(text).length === 0
}

try {
  for (let i = 0; i < count; i++) {
    const name = `c${i}`
    markers[name] = []
    counts[name] = { insert: 0, delete: 0, marker: 0, offline: 0 }
    clients.push(makeClient(urls[i % urls.length], opts.pad, name))
  }
  await Promise.all(clients.map((c) => synced(c)))
  const initial = clients[0].text.toString()

  phase = 'editing'
  const started = Date.now()
  await Promise.all(clients.map(run))
  const editedMs = Date.now() - started

  phase = 'converging'
  const convergeStart = Date.now()
  await waitFor(converged, 15000, 'all clients converged')
  const convergeMs = Date.now() - convergeStart

  const text = clients[0].text.toString()
  const result = {
    ok: true,
    seed,
    initialLength: initial.length,
    text,
    markers,
    counts,
    editedMs,
    convergeMs,
    clients: clients.map(summary)
  }
  destroyAll(clients)
  finish(result)
} catch (err) {
  fail(err, { phase, seed, clients: clients.map(describe) })
}
