// Authorship with stock clients: plain inserts are attributed to the connection's participant,
// and a client that re-attributes other people's text is refused.
//
//   node authorship.mjs --url ws://127.0.0.1:PORT/ws --pad ID --writer-cookie C --thief-cookie C
//
// The writer (a browser's participant cookie) inserts plain text, with no attributes at all,
// and waits for the server's attribution to come back. The thief (another participant) then
// formats that text with `author: 'someone'` and must be closed with 4403. A fresh reader
// reports what the pad holds after that.
//
// Prints {ok, writer: <delta>, thiefCloses: [...], reader: <delta>}.

import {
  destroyAll, fail, finish, hardTimeout, makeClient, options, summary, synced, waitFor
} from './common.mjs'

const opts = options({
  url: { type: 'string', required: true },
  pad: { type: 'string', required: true },
  'writer-cookie': { type: 'string', required: true },
  'thief-cookie': { type: 'string', required: true },
  timeout: { type: 'string', default: '25' }
})

const TYPED = 'Plain text from a stock client.\nA second line.\n'
const clients = []
let phase = 'connecting'
hardTimeout(Number(opts.timeout), () => ({ phase, clients: clients.map(summary) }))

const attributed = (client) => client.text.toDelta().every(
  (op) => typeof op.insert !== 'string' || !/[^\n]/.test(op.insert) ||
    (op.attributes && typeof op.attributes.author === 'string' && op.attributes.author)
)

try {
  const writer = makeClient(opts.url, opts.pad, 'writer', { headers: { Cookie: opts['writer-cookie'] } })
  clients.push(writer)
  await synced(writer)
  phase = 'writing'
  writer.text.insert(0, TYPED)
  await waitFor(() => writer.text.toString() === TYPED && attributed(writer), 10000,
    'the server attributed the writer\'s text')
  const writerDelta = writer.text.toDelta()

  phase = 'stealing'
  const thief = makeClient(opts.url, opts.pad, 'thief', { headers: { Cookie: opts['thief-cookie'] } })
  clients.push(thief)
  await synced(thief)
  await waitFor(() => thief.text.toString() === TYPED, 10000, 'the thief has the text')
  thief.text.format(0, TYPED.length - 1, { author: 'someone' })
  await waitFor(() => thief.closes.some((c) => c && c.code === 4403), 10000,
    'the server closed the thief with 4403')

  phase = 'reading'
  const reader = makeClient(opts.url, opts.pad, 'reader')
  clients.push(reader)
  await synced(reader)
  await waitFor(() => reader.text.toString() === TYPED, 10000, 'the reader has the text')
  const result = {
    ok: true,
    writer: writerDelta,
    writerCloses: writer.closes,
    thiefCloses: thief.closes,
    thiefTerminal: thief.terminal,
    reader: reader.text.toDelta()
  }
  destroyAll(clients)
  finish(result)
} catch (err) {
  fail(err, { phase, clients: clients.map(summary) })
}
