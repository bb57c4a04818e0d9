// summitpad: the pad's chat, in the panel beside the editor (templates/_chat.html).
//
// It travels over the page's y-websocket connection as summitpad's own message type 100: a
// lib0 varString of JSON (server/summitpad/chat.py documents the kinds). The server sends chat
// frames only to a connection that asked with {"kind": "join"} (the stock client would log an
// error for a message type it does not know), so the panel joins on every (re)connect; the
// server answers with the last messages and then sends each new one, the sender's own included
// once it is stored.
//
// Everything a participant wrote is put on the page with textContent, never as markup.

import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

import { cleanColor, readableColor } from './participant.js'

export const MESSAGE_CHAT = 100
export const TEXT_MAX = 1000
const OPEN_KEY = 'summitpad.chat.open'
const NEAR_BOTTOM_PX = 32
const WIDE = '(min-width: 60rem)'

const REFUSALS = {
  empty: 'Nothing to send.',
  'too-long': `Too long: at most ${TEXT_MAX} characters.`,
  flood: 'Too many messages at once: wait a few seconds.',
  'read-only': 'The pad is read-only: the chat is closed.',
  unavailable: 'Not sent: the server cannot store it right now. Try again.',
  busy: 'Not sent: the server is busy. Try again.'
}

/** Stream ids "<ms>-<seq>" in the order they were stored. */
const compareIds = (a, b) => {
  const [am, as] = a.split('-').map(Number)
  const [bm, bs] = b.split('-').map(Number)
  return am - bm || as - bs
}

const validMessage = m =>
  m && typeof m === 'object' && typeof m.id === 'string' && /^\d+-\d+$/.test(m.id) &&
  typeof m.text === 'string' && typeof m.name === 'string' && typeof m.time === 'number'

const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const FULL_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

/** One message as a list item: time, name in the sender's colour, text. */
const renderMessage = (message, mine) => {
  const item = document.createElement('li')
  item.className = 'chat-message' + (mine ? ' mine' : '')
  item.dataset.id = message.id
  const head = document.createElement('div')
  head.className = 'chat-head'
  const name = document.createElement('span')
  name.className = 'chat-name'
  name.textContent = message.name
  name.style.color = readableColor(cleanColor(message.color))
  const when = new Date(message.time)
  const time = document.createElement('time')
  time.className = 'chat-time'
  time.dateTime = when.toISOString()
  time.textContent = TIME.format(when)
  time.title = FULL_TIME.format(when)
  head.append(name, time)
  const text = document.createElement('p')
  text.className = 'chat-text'
  text.textContent = message.text
  item.append(head, text)
  return item
}

/**
 * Bind the chat panel (if the page has one) to the pad's provider.
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {HTMLElement} root the pad's <main>: its data-author-id and data-read-only
 */
export const setupChat = (provider, root) => {
  const panel = document.getElementById('chat')
  if (!panel) return null
  const $ = id => /** @type {HTMLElement} */ (document.getElementById(id))
  const toggle = $('chat-toggle')
  const body = $('chat-body')
  const log = $('chat-log')
  const note = $('chat-note')
  const badge = $('chat-unread')
  const badgeCount = $('chat-unread-count')
  const form = /** @type {HTMLFormElement} */ ($('chat-form'))
  const input = /** @type {HTMLInputElement} */ ($('chat-input'))
  input.maxLength = TEXT_MAX

  /** @type {Map<string, any>} */
  const messages = new Map()
  let lastId = ''
  let unread = 0
  let joinedOnce = false
  let lastSent = ''

  const myId = () => root.dataset.authorId || ''
  const readOnly = () => root.dataset.readOnly === 'true'

  const send = payload => {
    const ws = provider.ws
    if (!provider.wsconnected || !ws || ws.readyState !== WebSocket.OPEN) return false
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_CHAT)
    encoding.writeVarString(encoder, JSON.stringify(payload))
    ws.send(encoding.toUint8Array(encoder))
    return true
  }

  // -- open, closed, read up to the end --

  const isOpen = () => panel.dataset.open === 'true'
  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX
  const showUnread = () => {
    badge.hidden = unread === 0
    badgeCount.textContent = unread > 99 ? '99+' : String(unread)
    panel.dataset.unread = String(unread)
  }
  const markRead = () => {
    unread = 0
    showUnread()
  }
  const scrollToEnd = () => { log.scrollTop = log.scrollHeight }

  const setOpen = (open, remember) => {
    panel.dataset.open = String(open)
    toggle.setAttribute('aria-expanded', String(open))
    body.hidden = !open
    if (open) {
      scrollToEnd()
      markRead()
    }
    if (remember) {
      try {
        window.localStorage.setItem(OPEN_KEY, String(open))
      } catch (_) {
        // no storage: the choice lasts for this page
      }
    }
  }

  let remembered = null
  try {
    remembered = window.localStorage.getItem(OPEN_KEY)
  } catch (_) {
    remembered = null
  }
  setOpen(remembered === null ? window.matchMedia(WIDE).matches : remembered === 'true', false)
  toggle.addEventListener('click', () => {
    setOpen(!isOpen(), true)
    if (isOpen()) input.focus({ preventScroll: true })
  })
  log.addEventListener('scroll', () => {
    if (isOpen() && atBottom()) markRead()
  })

  // -- the messages --

  const renderAll = () => {
    const sorted = [...messages.values()].sort((a, b) => compareIds(a.id, b.id))
    log.replaceChildren(...sorted.map(m => renderMessage(m, m.author === myId())))
    lastId = sorted.length ? sorted[sorted.length - 1].id : ''
  }

  /** Add messages not seen yet; `count`: whether others' ones count as unread. */
  const add = (incoming, count) => {
    const stick = isOpen() && atBottom()
    let fresh = 0
    let mine = false
    let inOrder = true
    for (const message of incoming) {
      if (!validMessage(message) || messages.has(message.id)) continue
      messages.set(message.id, message)
      if (message.author === myId()) mine = true
      else fresh++
      if (lastId && compareIds(message.id, lastId) < 0) inOrder = false
      if (inOrder) {
        log.append(renderMessage(message, message.author === myId()))
        lastId = message.id
      }
    }
    if (!inOrder) renderAll()
    if (stick || mine) scrollToEnd()
    if (count && fresh && !(isOpen() && (stick || mine))) {
      unread += fresh
      showUnread()
    }
  }

  const showNote = text => { note.textContent = text }

  provider.messageHandlers[MESSAGE_CHAT] = (_encoder, decoder) => {
    let payload
    try {
      payload = JSON.parse(decoding.readVarString(decoder))
    } catch (_) {
      return
    }
    if (!payload || typeof payload !== 'object') return
    if (payload.kind === 'history' && Array.isArray(payload.messages)) {
      add(payload.messages, joinedOnce) // after a reconnect: what came meanwhile is new
      joinedOnce = true
    } else if (payload.kind === 'message') {
      add([payload.message], true)
    } else if (payload.kind === 'refused') {
      showNote(REFUSALS[payload.reason] || 'Not sent.')
      if (!input.value && lastSent && payload.reason !== 'empty') input.value = lastSent
      lastSent = ''
    }
  }

  // -- sending --

  const showAccess = () => {
    const closed = readOnly()
    input.disabled = closed
    form.querySelector('button').disabled = closed
    input.placeholder = closed ? 'The pad is read-only' : 'Message everyone here'
    panel.classList.toggle('read-only', closed)
  }
  new MutationObserver(showAccess).observe(root, { attributes: true, attributeFilter: ['data-read-only'] })
  showAccess()

  form.addEventListener('submit', event => {
    event.preventDefault()
    const text = input.value.trim()
    if (!text) return
    if (text.length > TEXT_MAX) {
      showNote(REFUSALS['too-long'])
      return
    }
    const user = (provider.awareness.getLocalState() || {}).user || {}
    if (!send({ kind: 'send', text, name: user.name, color: user.color })) {
      showNote('Offline: not sent. Send it again once connected.')
      return
    }
    showNote('')
    lastSent = input.value
    input.value = ''
  })

  provider.on('status', ({ status }) => {
    if (status === 'connected') send({ kind: 'join' })
  })
  if (provider.wsconnected) send({ kind: 'join' })

  return {
    get unread () { return unread },
    get messages () { return [...messages.values()] }
  }
}
