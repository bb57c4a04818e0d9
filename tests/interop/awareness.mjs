// Awareness between stock clients: names and colours reach the others, a joiner gets every
// current state, and a client whose connection ends is removed from everyone's view.
//
//   node awareness.mjs --url ws://127.0.0.1:PORT/ws --pad ID [--url2 ws://OTHER/ws]
//        [--step-ms 5000] [--warm]
//
// Alice joins and sets awareness.setLocalStateField('user', {name, color}); once the server has
// echoed her state back to her (so it surely holds it), Bob joins with his own state: he must
// see Alice's at once (a joiner gets every current state) and she must see his. Carol then
// joins and must see both. Then:
//  - Bob's connection is cut without a word (shouldConnect off, then the socket is terminated:
//    no close frame, no null awareness state from the client, like a crashed tab), so only
//    the server can tell the others: Alice and Carol must see Bob's state removed;
//  - Carol leaves politely (provider.destroy()); Alice must see her removed too.
// With --url2, Bob connects there (Alice and Carol to --url): every step crosses two nodes.
// With --warm, the pad is made live on both nodes first: a client without awareness state
// joins each URL and the two exchange an edit before Alice comes.
// Each step must be met within --step-ms; clients renew their state only every 15 s, so
// 5 s tells a relayed state from a renewed one.
//
// Prints {ok, steps: {name: ms since start}, ...}.

import * as decoding from 'lib0/decoding'
import {
  destroyAll, finish, fail, hardTimeout, makeClient, options, summary, synced, waitFor
} from './common.mjs'

const opts = options({
  url: { type: 'string', required: true },
  url2: { type: 'string' },
  pad: { type: 'string', required: true },
  'step-ms': { type: 'string', default: '5000' },
  warm: { type: 'boolean', default: false },
  timeout: { type: 'string', default: '25' }
})
const stepMs = Number(opts['step-ms'])
const urls = [opts.url, opts.url2 || opts.url]

let phase = 'connecting'
const clients = []
const steps = {}
const started = Date.now()
hardTimeout(Number(opts.timeout), () => ({ phase, steps, clients: clients.map(describe) }))

const USERS = {
  alice: { name: 'Alice', color: '#d7263d' },
  bob: { name: 'Bob <b>&', color: '#1b998b' },
  carol: { name: 'Carol ☕', color: '#2e294e' }
}

function describe (client) {
  const states = {}
  for (const [id, state] of client.provider.awareness.getStates()) states[id] = state
  return { ...summary(client), clientID: client.doc.clientID, states }
}

/** What `observer` currently holds as `subject`'s user field, or undefined. */
function seen (observer, subject) {
  const state = observer.provider.awareness.getStates().get(subject.doc.clientID)
  return state ? state.user : undefined
}

const sees = (observer, subject) => {
  const user = seen(observer, subject)
  return user !== undefined && user.name === USERS[subject.name].name &&
    user.color === USERS[subject.name].color
}

async function step (name, predicate, timeoutMs = stepMs) {
  phase = name
  await waitFor(predicate, timeoutMs, name)
  steps[name] = Date.now() - started
}

/** Count the awareness messages from the server that carry `client`'s own state. */
function countEchoes (client) {
  client.echoes = 0
  const stock = client.provider.messageHandlers[1]
  client.provider.messageHandlers[1] = (encoder, decoder, provider, emitSynced, messageType) => {
    const peek = decoding.createDecoder(decoding.readVarUint8Array(decoding.clone(decoder)))
    for (let n = decoding.readVarUint(peek); n > 0; n--) {
      const id = decoding.readVarUint(peek)
      decoding.readVarUint(peek)
      decoding.readVarString(peek)
      if (id === client.doc.clientID) client.echoes++
    }
    stock(encoder, decoder, provider, emitSynced, messageType)
  }
}

try {
  if (opts.warm) {
    const lurkers = urls.map((url, i) => {
      const client = makeClient(url, opts.pad, `lurker${i}`)
      client.provider.awareness.setLocalState(null)
      clients.push(client)
      return client
    })
    await Promise.all(lurkers.map((c) => synced(c)))
    lurkers.forEach((c) => c.text.insert(0, c.name + ' '))
    await step('the pad is live on both nodes', () => lurkers.every(
      (c) => lurkers.every((other) => c.text.toString().includes(other.name))))
  }

  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((name) => {
    const client = makeClient(name === 'bob' ? urls[1] : urls[0], opts.pad, name, { connect: false })
    client.provider.awareness.setLocalStateField('user', USERS[name])
    clients.push(client)
    return client
  })
  countEchoes(alice)
  alice.provider.connect()
  await synced(alice)
  await step('the server echoes alice her state', () => alice.echoes > 0)

  bob.provider.connect()
  await synced(bob)
  await step('bob, joining, sees alice', () => sees(bob, alice))
  await step('alice sees bob', () => sees(alice, bob))

  carol.provider.connect()
  await synced(carol)
  await step('carol, joining, sees alice and bob', () => sees(carol, alice) && sees(carol, bob))
  await step('alice and bob see carol', () => sees(alice, carol) && sees(bob, carol))

  // Bob's tab dies: no close frame, no null state of his own.
  bob.provider.shouldConnect = false
  bob.provider.ws.terminate()
  await step('bob removed after his connection died',
    () => seen(alice, bob) === undefined && seen(carol, bob) === undefined)
  if (!alice.provider.wsconnected || !carol.provider.wsconnected) {
    throw new Error('alice or carol lost her connection')
  }

  carol.provider.destroy()
  await step('carol removed after she left', () => seen(alice, carol) === undefined)
  if (!sees(alice, alice)) throw new Error('alice lost her own state')

  const result = { ok: true, steps, clients: clients.map(describe) }
  destroyAll(clients.filter((c) => c !== carol))
  finish(result)
} catch (err) {
  fail(err, { phase, steps, clients: clients.map(describe) })
}
