// What the pad page and the projector share about the connection to the sync server.

import { loadParticipant } from './participant.js'
import { CLOSE_PAD_DELETED, showBanner } from './notice.js'

/**
 * The server closes with 4400-4499 for a client that would only fail again (a malformed or
 * rejected message, too many connections, a pad at its size limit), and the stock client then
 * stops reconnecting. Try again much later anyway.
 */
export const RETRY_AFTER_CLOSE_MS = 30000
/** This browser holds the most connections a participant may (its tabs, a projector). */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429
/** The pad is at its size limit: the edit that would have grown it was not saved. */
export const CLOSE_PAD_TOO_LARGE = 4413

/** What the page says after a close that needs the person to act (docs/limits.md). */
const CLOSE_BANNERS = {
  [CLOSE_TOO_MANY_CONNECTIONS]: {
    heading: 'Too many tabs',
    text: 'This browser has too many summitpad pages open. Close some tabs: this page tries ' +
      'again every 30 seconds.'
  },
  [CLOSE_PAD_TOO_LARGE]: {
    heading: 'Pad full',
    kind: 'deleted',
    text: 'This pad has reached its size limit, so your last edit was not saved. Copy it ' +
      'somewhere else, then reload the page to go on.'
  }
}

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
 * Reconnect a while after the server closed for good, never at once (a tab past the connection
 * limit, or holding an edit too large for the pad, would only be closed again), and never after
 * the pad was deleted (the client would bring the old notes back). Say why when the person can
 * do something about it.
 * @param {import('y-websocket').WebsocketProvider} provider
 */
export const retryAfterClose = provider => {
  let timer = 0
  provider.on('closed', event => {
    clearTimeout(timer)
    if (event && event.code === CLOSE_PAD_DELETED) return
    const banner = event && CLOSE_BANNERS[event.code]
    if (banner) showBanner({ id: `closed-${event.code}`, ...banner })
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
