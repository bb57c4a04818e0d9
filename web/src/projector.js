// summitpad: the projector view of a session, and the signage of a room (the projector that
// always shows the session running there now). The same Quill + y-quill editor as the pad page,
// without a toolbar, in type large enough for the back of the room.
//
// The page hands over its data in data- attributes of <main id="projector"> (no inline script):
//   data-signage      "true" on a room's signage: read data-feed-url and switch sessions by itself
//   data-now          the server's time when it rendered the page (ISO 8601): the clock's base
//   data-session-id   the session shown ("" between sessions); kept current while switching
//   data-start/-end   its slot (ISO 8601); data-next-start the next one's start when it is today
//   data-pad-id, data-ws-url, data-read-only, data-author-id   as on the pad page
//   data-summit-name, data-room-name, data-timezone
// and the page keeps these current for CSS and tests: data-showing="session|next",
// data-theme="dark|light", data-font-mode/-size, data-following, and on #countdown data-state.

import * as Y from 'yjs'
import { QuillBinding } from 'y-quill'
import { WebsocketProvider } from 'y-websocket'
import * as awarenessProtocol from 'y-protocols/awareness'

import Quill, { FORMATS } from './editor.js'
import { SaveTracker, STATUS_TEXT } from './saving.js'
import { markdownBindings, installShortcutFallback } from './shortcuts.js'
import { presentParticipants } from './people.js'
import { EditGate, watchAccess } from './readonly.js'
import { loadAuthor, resolveWsUrl, retryAfterClose } from './connection.js'
import { setupNotices, watchDeletion } from './notice.js'
import { countdown, serverClock } from './countdown.js'
import { FontSizer } from './fontsize.js'
import { Follower } from './follow.js'
import { dayIn, feedSessions, nextAfter, pollFeed, sessionAt } from './signage.js'

const THEME_KEY = 'summitpad.projector.theme'
const TICK_MS = 1000

const $ = id => /** @type {HTMLElement} */ (document.getElementById(id))

const parseTime = iso => (iso ? Date.parse(iso) : NaN)

/** One pad on screen: its document, connection, binding and edit state. */
class PadView {
  constructor ({ padId, wsUrl, quill, root, readOnly, onStatus, onPeople }) {
    this.quill = quill
    this.onPeople = onPeople
    this.doc = new Y.Doc()
    this.ytext = this.doc.getText('content')
    this.provider = new WebsocketProvider(wsUrl, padId, this.doc, { connect: false })
    this.awareness = this.provider.awareness
    this.tracker = new SaveTracker(this.doc, this.provider, onStatus)
    this.gate = new EditGate(quill, root, readOnly)
    this.access = watchAccess(this.provider, readOnly, value => {
      this.gate.setReadOnly(value)
      onStatus()
    })
    this.provider.on('sync', synced => { if (synced) this.gate.setReady() })
    this.stopRetry = retryAfterClose(this.provider)
    this.binding = new QuillBinding(this.ytext, quill, this.awareness)
    quill.history.clear()
    this.awareness.on('change', onPeople)
    setupNotices(this.provider, { onStore: saved => this.tracker.serverStore(saved) })
    watchDeletion(this.provider, () => {
      this.gate.setReadOnly(true)
      quill.setContents([], 'silent')
    })
    this.provider.connect()
  }

  get status () {
    return this.access.readOnly ? 'read-only' : this.tracker.state
  }

  destroy () {
    this.awareness.off('change', this.onPeople)
    this.binding.destroy()
    this.gate.destroy()
    this.stopRetry()
    this.tracker.onState = () => {}
    awarenessProtocol.removeAwarenessStates(this.awareness, [this.doc.clientID], 'session over')
    this.provider.destroy()
    this.awareness.destroy()
    this.doc.destroy()
    const cursors = this.quill.getModule('cursors')
    if (cursors) cursors.clearCursors()
    this.quill.setContents([], 'silent')
    this.quill.history.clear()
  }
}

function setupTheme (root) {
  const button = $('theme')
  let theme = 'dark'
  try {
    if (window.localStorage.getItem(THEME_KEY) === 'light') theme = 'light'
  } catch (_) {}
  const show = () => {
    root.dataset.theme = theme
    document.documentElement.dataset.theme = theme
    button.textContent = theme === 'dark' ? 'Light' : 'Dark'
    button.setAttribute('aria-label', theme === 'dark' ? 'Light theme' : 'Dark theme')
  }
  const toggle = () => {
    theme = theme === 'dark' ? 'light' : 'dark'
    try {
      window.localStorage.setItem(THEME_KEY, theme)
    } catch (_) {}
    show()
  }
  button.addEventListener('click', toggle)
  show()
  return toggle
}

function setupFullscreen () {
  const button = $('fullscreen')
  const el = document.documentElement
  if (!el.requestFullscreen) {
    button.hidden = true
    return () => {}
  }
  const toggle = () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {})
    else el.requestFullscreen().catch(() => {})
  }
  const show = () => { button.textContent = document.fullscreenElement ? 'Exit full screen' : 'Full screen' }
  button.addEventListener('click', toggle)
  document.addEventListener('fullscreenchange', show)
  return toggle
}

/** The QR code of a feed entry (SVG written by the server) as a node, or null. */
const parseSvg = text => {
  if (!text) return null
  // parsed as HTML, as the server's page embeds it (scripts in parsed documents never run)
  const svg = new DOMParser().parseFromString(text, 'text/html').body.firstElementChild
  if (!svg || svg.namespaceURI !== 'http://www.w3.org/2000/svg' || svg.localName !== 'svg') return null
  if (svg.querySelector('script, foreignObject, a, [href]')) return null
  return document.importNode(svg, true)
}

/** Swap the root's `track-<id>` class (the track colour, from the summit's tracks.css). */
const setTrackClass = (el, trackId) => {
  for (const name of [...el.classList]) if (name.startsWith('track-') && name !== 'track-chip') el.classList.remove(name)
  if (trackId) el.classList.add(`track-${trackId}`)
}

function main () {
  const root = $('projector')
  const now = serverClock(root.dataset.now)
  const signage = root.dataset.signage === 'true'
  const timeZone = root.dataset.timezone || 'UTC'
  const wsUrl = resolveWsUrl(root.dataset.wsUrl)
  const summitName = root.dataset.summitName || ''
  const roomName = root.dataset.roomName || ''

  $('projector-controls').hidden = false
  const toggleTheme = setupTheme(root)
  const toggleFullscreen = setupFullscreen()

  const quill = new Quill($('editor'), {
    theme: 'snow',
    placeholder: 'The notes of this session go here. Anyone can type, here or from the link.',
    formats: FORMATS,
    modules: {
      toolbar: false,
      cursors: true,
      history: { userOnly: true },
      keyboard: { bindings: markdownBindings() }
    }
  })
  installShortcutFallback(quill)

  const follower = new Follower({ quill, root, button: /** @type {HTMLButtonElement} */ ($('follow')), now })
  const fonts = new FontSizer(root, quill.root, () => { if (follower.following) follower.scrollToLastEdit() })
  const autoButton = $('font-auto')
  const showFontMode = () => autoButton.setAttribute('aria-pressed', String(fonts.manual === null))
  $('font-larger').addEventListener('click', () => { fonts.larger(); showFontMode() })
  $('font-smaller').addEventListener('click', () => { fonts.smaller(); showFontMode() })
  autoButton.addEventListener('click', () => { fonts.auto(); showFontMode() })
  showFontMode()
  quill.on('text-change', () => fonts.refit())

  // The projector joins "who is here" only once someone types on it.
  const author = loadAuthor(root.dataset.authorId)
  let typedHere = false
  /** @type {PadView | null} */
  let view = null
  const announce = () => {
    if (!typedHere || !view) return
    view.awareness.setLocalStateField('user', {
      name: author.confirmed ? author.name : 'Projector',
      color: author.color,
      id: author.id
    })
  }
  quill.on('text-change', (_delta, _old, source) => {
    if (source === 'user' && !typedHere) {
      typedHere = true
      announce()
    }
  })

  const statusEl = $('status')
  const showStatus = () => {
    const state = view ? view.status : 'connecting'
    statusEl.hidden = view === null
    statusEl.dataset.state = state
    statusEl.textContent = STATUS_TEXT[state]
  }
  const peopleEl = $('people-count')
  const showPeople = () => {
    /** @type {HTMLElement} */ (peopleEl.parentElement).hidden = view === null
    peopleEl.textContent = String(view ? presentParticipants(view.awareness).length : 0)
  }

  const openPad = (padId, readOnly) => {
    if (view) view.destroy()
    view = null
    follower.attach(null)
    if (padId) {
      view = new PadView({ padId, wsUrl, quill, root, readOnly, onStatus: showStatus, onPeople: showPeople })
      follower.attach(view.ytext)
      announce()
    }
    root.dataset.padId = padId || ''
    showStatus()
    showPeople()
    fonts.refit()
  }

  // ---- what is shown: a session, or (signage, between sessions) the next one ----

  let slot = { start: parseTime(root.dataset.start), end: parseTime(root.dataset.end) }
  let nextStart = parseTime(root.dataset.nextStart)

  const showSession = s => {
    root.dataset.showing = 'session'
    root.dataset.sessionId = s.id
    root.dataset.start = s.start
    root.dataset.end = s.end
    slot = { start: s.startMs, end: s.endMs }
    $('projector-title').textContent = s.title
    $('projector-room').textContent = roomName || summitName
    const track = $('projector-track')
    track.textContent = s.track ? s.track.name : ''
    track.hidden = !s.track
    setTrackClass(track, s.track && s.track.id)
    setTrackClass($('projector-header'), s.track && s.track.id)
    $('projector-when').hidden = false
    $('projector-start').textContent = s.start_local
    $('projector-start').setAttribute('datetime', s.start)
    $('projector-end').textContent = s.end_local
    $('projector-end').setAttribute('datetime', s.end)
    $('projector-moderator').textContent = s.moderator || ''
    $('projector-moderator').hidden = !s.moderator
    const join = /** @type {HTMLAnchorElement} */ ($('join'))
    const joinUrl = /^https?:\/\//.test(s.join_url || '') ? s.join_url : ''
    join.href = joinUrl || '#'
    join.hidden = !joinUrl
    $('join-label').textContent = s.join_label
    const svg = parseSvg(s.qr_svg)
    $('join-qr').replaceChildren(...(svg ? [svg] : []))
    $('next').hidden = true
    $('notes').hidden = false
    document.title = `${s.title} · ${summitName}`
  }

  const showBetween = next => {
    const today = next !== null && dayIn(next.startMs, timeZone) === dayIn(now(), timeZone)
    root.dataset.showing = 'next'
    root.dataset.sessionId = ''
    root.dataset.start = ''
    root.dataset.end = ''
    slot = { start: NaN, end: NaN }
    nextStart = today ? next.startMs : NaN
    $('projector-title').textContent = roomName || summitName
    $('projector-room').textContent = summitName
    $('projector-track').hidden = true
    setTrackClass($('projector-header'), null)
    $('projector-when').hidden = true
    $('join').hidden = true
    $('next-none').hidden = today
    $('next-session').hidden = next === null
    if (next !== null) {
      $('next-title').textContent = next.title
      $('next-day').textContent = today ? '' : `${next.day_local} `
      $('next-start').textContent = next.start_local
      $('next-start').setAttribute('datetime', next.start)
    }
    $('next').hidden = false
    $('notes').hidden = true
    document.title = `${roomName || summitName} · ${summitName}`
  }

  // ---- the clock: countdown, follow mode, and (signage) slot boundaries ----

  const countdownEl = $('countdown')
  const showCountdown = at => {
    let shown = null
    if (Number.isFinite(slot.end)) shown = countdown(slot.start, slot.end, at)
    else if (Number.isFinite(nextStart)) shown = countdown(nextStart, nextStart, at)
    countdownEl.hidden = shown === null
    if (shown === null) return
    if (countdownEl.dataset.state !== shown.state) countdownEl.dataset.state = shown.state
    if (countdownEl.textContent !== shown.text) countdownEl.textContent = shown.text
  }

  let sessions = null // the feed's sessions once read
  let shownKey = null // what the signage last drew from the feed
  const switchIfDue = at => {
    if (sessions === null) return
    const current = sessionAt(sessions, at)
    const next = current ? null : nextAfter(sessions, at)
    const key = current
      ? JSON.stringify([current.id, current.title, current.start, current.end, current.moderator, current.track, current.join_url])
      : JSON.stringify(['next', next && next.id, next && next.title, next && next.start, dayIn(at, timeZone)])
    if (key === shownKey) return
    shownKey = key
    if (current) {
      const samePad = view !== null && root.dataset.padId === current.pad_id
      showSession(current)
      if (!samePad) openPad(current.pad_id, current.read_only)
    } else {
      showBetween(next)
      if (view) openPad('', true)
    }
  }

  const tick = () => {
    const at = now()
    switchIfDue(at)
    showCountdown(at)
    follower.update()
  }

  if (root.dataset.padId) openPad(root.dataset.padId, root.dataset.readOnly === 'true')
  else showStatus()
  tick()
  setInterval(tick, TICK_MS)

  let feed = null
  if (signage && root.dataset.feedUrl) {
    feed = pollFeed(root.dataset.feedUrl, data => {
      sessions = feedSessions(data)
      tick()
    })
  }

  // ---- keys: + / − text size, 0 auto, T theme, F full screen (not while typing in the notes) ----

  document.addEventListener('keydown', event => {
    if (event.ctrlKey || event.metaKey || event.altKey) return
    const target = /** @type {HTMLElement} */ (event.target)
    if (quill.root.contains(target) || target.closest('input, textarea, select, [contenteditable="true"]')) return
    const action = {
      '+': () => fonts.larger(),
      '=': () => fonts.larger(),
      '-': () => fonts.smaller(),
      _: () => fonts.smaller(),
      0: () => fonts.auto(),
      t: toggleTheme,
      T: toggleTheme,
      f: toggleFullscreen,
      F: toggleFullscreen
    }[event.key]
    if (!action) return
    event.preventDefault()
    action()
    showFontMode()
  })

  window.addEventListener('pagehide', () => {
    if (view) awarenessProtocol.removeAwarenessStates(view.awareness, [view.doc.clientID], 'page hidden')
  })

  window.summitpad = {
    get doc () { return view && view.doc },
    get provider () { return view && view.provider },
    get awareness () { return view && view.awareness },
    quill,
    fonts,
    follower,
    feed,
    now,
    status: () => statusEl.textContent,
    readOnly: () => (view ? view.access.readOnly : true)
  }
}

main()
