// A fresh stock client joins a pad and reports what it holds once synced.
//
//   node read.mjs --url ws://127.0.0.1:PORT/ws --pad ID
//
// Prints {ok, text, length, sha256, stateVector}.

import {
  destroyAll, finish, fail, hardTimeout, makeClient, options, sha256, stateVector, summary, synced
} from './common.mjs'

const opts = options({
  url: { type: 'string', required: true },
  pad: { type: 'string', required: true },
  timeout: { type: 'string', default: '15' }
})

const client = makeClient(opts.url, opts.pad, 'reader')
hardTimeout(Number(opts.timeout), () => ({ client: summary(client) }))

try {
  await synced(client, 12000)
  const text = client.text.toString()
  const result = {
    ok: true,
    text,
    length: text.length,
    sha256: sha256(text),
    stateVector: stateVector(client),
    client: summary(client)
  }
  destroyAll([client])
  finish(result)
} catch (err) {
  fail(err, { client: summary(client) })
}
