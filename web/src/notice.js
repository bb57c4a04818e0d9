// summitpad: notices from the organizers, shown as banners over the pad page, the projector and
// the read-only view; and the end of a pad that was deleted while it was open.
//
// A notice travels over the pad's y-websocket connection as summitpad's own message type 101: a
// lib0 varString of JSON (server/summitpad/admin_broadcast.py documents the kinds). The server
// sends notices only to a connection that asked with {"kind": "join"} (the stock client would
// log an error for a message type it does not know), so the page joins on every (re)connect.
//
// A pad deleted while open closes its connections with 4410. The page then stays disconnected
// (reconnecting would send the old notes back into the new, empty pad), empties the editor and
// says so.
//
// Every text is put on the page with textContent, never as markup.

import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

export const MESSAGE_NOTICE = 101
export const CLOSE_PAD_DELETED = 4410
const SHOWN_MAX = 3
const DELETED_TEXT = 'This pad was deleted by the organizers: its notes are gone. ' +
  'Reload the page to start again with an empty pad.'
const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

/** @type {HTMLElement | null} */
let region = null

/** The live region that holds the banners, at the top of the page. */
const bannerRegion = () => {
  if (region && region.isConnected) return region
  region = document.createElement('div')
  region.className = 'notices'
  if (document.getElementById('projector')) region.classList.add('notices-large')
  region.setAttribute('role', 'region')
  region.setAttribute('aria-label', 'Notices')
  region.setAttribute('aria-live', 'polite')
  document.body.prepend(region)
  return region
}

/**
 * Show one banner, until dismissed (the same id is shown once).
 * @param {{ id: string, text: string, heading: string, time?: number, kind?: string }} banner
 */
export const showBanner = ({ id, text, heading, time, kind = 'notice' }) => {
  const list = bannerRegion()
  if ([...list.children].some(el => /** @type {HTMLElement} */ (el).dataset.id === id)) return null
  const banner = document.createElement('div')
  banner.className = `notice-banner notice-${kind}`
  banner.dataset.id = id
  const head = document.createElement('p')
  head.className = 'notice-head'
  head.textContent = heading
  if (typeof time === 'number' && Number.isFinite(time)) {
    const when = new Date(time)
    const stamp = document.createElement('time')
    stamp.dateTime = when.toISOString()
    stamp.textContent = ` · ${TIME.format(when)}`
    head.append(stamp)
  }
  const body = document.createElement('p')
  body.className = 'notice-text'
  body.textContent = text
  const dismiss = document.createElement('button')
  dismiss.type = 'button'
  dismiss.className = 'notice-dismiss'
  dismiss.setAttribute('aria-label', 'Dismiss')
  dismiss.title = 'Dismiss'
  dismiss.textContent = '\u00d7'
  dismiss.addEventListener('click', () => banner.remove())
  banner.append(head, body, dismiss)
  list.append(banner)
  while (list.children.length > SHOWN_MAX) list.firstElementChild?.remove()
  return banner
}

/**
 * Ask the server for the organizers' notices on this provider's connection, and show them.
 * The same channel says when the server cannot store the pad's edits (Valkey away) and when
 * it can again: {"kind": "store", "saved": false|true}, handed to `onStore`.
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {{ onStore?: (saved: boolean) => void }} [handlers]
 */
export const setupNotices = (provider, { onStore } = {}) => {
  const join = () => {
    const ws = provider.ws
    if (!provider.wsconnected || !ws || ws.readyState !== WebSocket.OPEN) return
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_NOTICE)
    encoding.writeVarString(encoder, JSON.stringify({ kind: 'join' }))
    ws.send(encoding.toUint8Array(encoder))
  }
  provider.messageHandlers[MESSAGE_NOTICE] = (_encoder, decoder) => {
    let payload
    try {
      payload = JSON.parse(decoding.readVarString(decoder))
    } catch (_) {
      return
    }
    if (payload && payload.kind === 'store' && typeof payload.saved === 'boolean') {
      if (onStore) onStore(payload.saved)
      return
    }
    if (!payload || payload.kind !== 'notice' || typeof payload.text !== 'string') return
    showBanner({
      id: `notice-${typeof payload.id === 'string' ? payload.id : Math.random()}`,
      heading: 'From the organizers',
      text: payload.text,
      time: payload.time
    })
  }
  provider.on('status', ({ status }) => {
    if (status === 'connected') join()
  })
  join()
}

/**
 * Call `onDeleted` (once the banner says so) when the server closes because the pad was
 * deleted; the provider does not reconnect after that code (see connection.js).
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {() => void} onDeleted
 */
export const watchDeletion = (provider, onDeleted) => {
  provider.on('closed', event => {
    if (!event || event.code !== CLOSE_PAD_DELETED) return
    showBanner({ id: 'pad-deleted', kind: 'deleted', heading: 'Pad deleted', text: DELETED_TEXT })
    onDeleted()
  })
}
