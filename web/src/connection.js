// What the pad page and the projector share about the connection to the sync server.

import { loadParticipant } from './participant.js'
import { CLOSE_PAD_DELETED } from './notice.js'

/**
 * The server closes with 4400-4499 for a client that would only fail again (a malformed or
 * rejected message), and the stock client then stops reconnecting. Try again much later anyway.
 */
export const RETRY_AFTER_CLOSE_MS = 30000

const AUTHOR_ID = /^[A-Za-z0-9_-]{8,64}$/

/** ws(s):// URL of the sync server from the page's data attribute (a path is allowed). */
export const resolveWsUrl = raw => {
  const url = new URL(raw || '/ws', window.location.href)
  if (url.protocol === 'http:') url.protocol = 'ws:'
  else if (url.protocol === 'https:') url.protocol = 'wss:'
  url.search = ''
  url.hash = ''
  return url.href.replace(/\/+$/, '')
}

/**
 * Reconnect a while after the server closed for good; never after the pad was deleted (the
 * client would bring the old notes back).
 * @param {import('y-websocket').WebsocketProvider} provider
 */
export const retryAfterClose = provider => {
  let timer = 0
  provider.on('closed', event => {
    clearTimeout(timer)
    if (event && event.code === CLOSE_PAD_DELETED) return
    timer = setTimeout(() => provider.connect(), RETRY_AFTER_CLOSE_MS)
  })
  return () => clearTimeout(timer)
}

/**
 * The remembered participant, with the author id the server gave this browser (a signed
 * cookie, handed over in `data-author-id`) when the page has one.
 * @param {string | undefined} authorId
 */
export const loadAuthor = authorId => {
  const participant = loadParticipant()
  if (authorId && AUTHOR_ID.test(authorId)) participant.id = authorId
  return participant
}
