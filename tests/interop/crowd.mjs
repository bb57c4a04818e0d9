// A crowd of stock clients in one pad, each with its own name in awareness: everybody stays
// connected and sees everybody, and one leaving takes only its own state along.
//
//   node crowd.mjs --url ws://127.0.0.1:PORT/ws --pad ID [--count 12]
//
// The stock client sends on every awareness change it applies, other clients' states included
// (y-websocket's awareness update handler ignores the origin): a joiner that is sent the
// states of everyone present repeats them all to the server at once. The server must not take
// those states for the joiner's own (it would close the joiner for speaking for too many
// clients, or clear everyone's state when the joiner leaves).
//
// Prints {ok, closes: [[client, code, reason]], seen: [states each client sees], ...}.

import { destroyAll, finish, fail, hardTimeout, makeClient, options, sleep, synced, waitFor } from './common.mjs'

const opts = options({
  url: { type: 'string', required: true },
  pad: { type: 'string', required: true },
  count: { type: 'string', default: '12' },
  timeout: { type: 'string', default: '40' }
})
const count = Number(opts.count)
const clients = []
const seen = () => clients.map((c) => c.provider.awareness.getStates().size)
hardTimeout(Number(opts.timeout), () => ({ seen: seen(), closes: closes() }))
const closes = () => clients.flatMap((c, i) =>
  c.closes.filter(Boolean).map((close) => [i, close.code, close.reason]))

try {
  for (let i = 0; i < count; i++) {
    const client = makeClient(opts.url, opts.pad, `person ${i}`)
    clients.push(client)
    await synced(client)
    client.provider.awareness.setLocalStateField('user', { name: client.name, color: '#1d4ed8' })
    await waitFor(() => clients.every((c) => c.provider.awareness.getStates().size === i + 1),
      10000, `everybody sees ${i + 1} people`)
  }
  const everybody = seen()
  const leaver = clients.pop() // the last joiner repeated everybody's state
  leaver.provider.destroy()
  await waitFor(() => clients.every((c) => c.provider.awareness.getStates().size === count - 1),
    10000, 'the leaver gone for the others')
  await sleep(500) // the others' states stay
  const after = seen()
  const ok = closes().length === 0 && after.every((n) => n === count - 1)
  const result = { ok, closes: closes(), everybody, after }
  destroyAll(clients)
  finish(result)
} catch (error) {
  fail(error, { seen: seen(), closes: closes() })
}
