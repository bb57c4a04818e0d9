// summitpad: the pad page. A Quill 2 editor bound with y-quill to the Y.Text "content" of the
// pad's Y.Doc, synced with the stock y-websocket provider; remote cursors via quill-cursors.
//
// The page hands over its data in data- attributes of <main id="pad"> (no inline script):
//   data-pad-id     the pad id, also the y-websocket room name
//   data-ws-url     the y-websocket server URL (absolute ws(s)://, or a path such as "/ws")
//   data-read-only  "true" when the pad takes no edits at load (the server says when it changes)
//   data-author-id  this browser's author id (a signed cookie), the participant's id in awareness

import * as Y from 'yjs'
import { QuillBinding } from 'y-quill'
import { WebsocketProvider } from 'y-websocket'
import * as awarenessProtocol from 'y-protocols/awareness'

import Quill, { FORMATS } from './editor.js'
import { SaveTracker, STATUS_TEXT } from './saving.js'
import { markdownBindings, installShortcutFallback } from './shortcuts.js'
import { bindPeople } from './people.js'
import { attributeEdits, installClearFormatting } from './authorship.js'
import { setupAuthors } from './authors.js'
import { setupChat } from './chat.js'
import { setupNotices, watchDeletion } from './notice.js'
import { EditGate, watchAccess } from './readonly.js'
import { setupImport } from './importer.js'
import { setupRevisions } from './revisions.js'
import { loadAuthor, resolveWsUrl, retryAfterClose } from './connection.js'
import {
  PALETTE, NAME_MAX, cleanName, cleanColor, readableColor, saveParticipant
} from './participant.js'

const TOOLBAR = [
  [{ header: [1, 2, 3, false] }],
  ['bold', 'italic', 'underline', 'strike'],
  [{ list: 'bullet' }, { list: 'ordered' }, { list: 'check' }],
  ['link', 'code', 'code-block'],
  ['clean']
]

const MOD = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘' : 'Ctrl+'
const BUTTON_TITLES = {
  '.ql-bold': `Bold (${MOD}B)`,
  '.ql-italic': `Italic (${MOD}I)`,
  '.ql-underline': `Underline (${MOD}U)`,
  '.ql-strike': 'Strikethrough',
  '.ql-list[value="bullet"]': 'Bulleted list (type "- ")',
  '.ql-list[value="ordered"]': 'Numbered list (type "1. ")',
  '.ql-list[value="check"]': 'Check list (type "[ ] ")',
  '.ql-link': `Link (${MOD}K)`,
  '.ql-code': 'Inline code',
  '.ql-code-block': 'Code block',
  '.ql-clean': `Clear formatting (${MOD}\\)`,
  '.ql-header.ql-picker': 'Heading (type "# ", "## ", "### ")'
}

const $ = id => /** @type {HTMLElement} */ (document.getElementById(id))

/**
 * The status line: the save tracker's state, or "read-only" while the pad takes no edits.
 * Returns `refresh()`, to call when the read-only state changes.
 */
function setupStatus (tracker, isReadOnly) {
  const el = $('status')
  const alert = $('status-alert')
  let lastAnnounced = 'saved'
  const show = () => {
    const state = isReadOnly() ? 'read-only' : tracker.state
    el.dataset.state = state
    el.textContent = STATUS_TEXT[state]
    // Screen readers hear about problems and their end, not every keystroke's "saving…".
    if (alert) {
      const problem = state === 'not-saved' || state === 'offline' || state === 'read-only'
      if (problem && lastAnnounced !== state) {
        alert.textContent = STATUS_TEXT[state]
        lastAnnounced = state
      } else if (state === 'saved' && lastAnnounced !== 'saved') {
        alert.textContent = STATUS_TEXT.saved
        lastAnnounced = 'saved'
      }
    }
  }
  tracker.onState = show
  show()
  return show
}

function setupParticipant (awareness, authorId) {
  const participant = loadAuthor(authorId)
  const details = /** @type {HTMLDetailsElement} */ ($('me'))
  const form = /** @type {HTMLFormElement} */ ($('me-form'))
  const nameInput = /** @type {HTMLInputElement} */ ($('me-name'))
  const colorInput = /** @type {HTMLInputElement} */ ($('me-color'))
  const palette = $('me-palette')
  const label = $('me-label')
  const meDot = $('me-dot')

  nameInput.maxLength = NAME_MAX

  const radios = PALETTE.map(({ color, label: colorName }) => {
    const wrap = document.createElement('label')
    wrap.className = 'swatch'
    wrap.title = colorName
    const radio = document.createElement('input')
    radio.type = 'radio'
    radio.name = 'color'
    radio.value = color
    const chip = document.createElement('span')
    chip.className = 'chip'
    chip.style.backgroundColor = color
    chip.setAttribute('aria-hidden', 'true')
    const text = document.createElement('span')
    text.className = 'sr-only'
    text.textContent = colorName
    wrap.append(radio, chip, text)
    palette.insertBefore(wrap, colorInput.parentElement)
    return radio
  })

  const announce = () => {
    awareness.setLocalStateField('user', {
      name: participant.name,
      color: participant.color,
      id: participant.id
    })
    label.textContent = participant.name
    meDot.style.backgroundColor = participant.color
  }

  const showColor = () => {
    let inPalette = false
    for (const radio of radios) {
      radio.checked = radio.value === participant.color
      inPalette = inPalette || radio.checked
    }
    colorInput.value = participant.color
    colorInput.parentElement.classList.toggle('selected', !inPalette)
  }

  const confirm = () => {
    participant.confirmed = true
    const name = cleanName(nameInput.value)
    if (name) participant.name = name
    nameInput.value = participant.name
    saveParticipant(participant)
    announce()
  }

  nameInput.value = participant.name
  showColor()
  announce()
  saveParticipant(participant)

  nameInput.addEventListener('input', () => {
    const name = cleanName(nameInput.value)
    if (name && name !== participant.name) {
      participant.name = name
      announce()
    }
  })
  for (const radio of radios) {
    radio.addEventListener('change', () => {
      if (!radio.checked) return
      participant.color = cleanColor(radio.value)
      showColor()
      announce()
    })
  }
  colorInput.addEventListener('input', () => {
    participant.color = readableColor(colorInput.value)
    for (const radio of radios) radio.checked = false
    colorInput.parentElement.classList.add('selected')
    announce()
  })
  colorInput.addEventListener('change', () => {
    participant.color = readableColor(colorInput.value)
    showColor()
    announce()
  })
  form.addEventListener('submit', event => {
    event.preventDefault()
    confirm()
    details.open = false
  })
  details.addEventListener('toggle', () => {
    if (details.open) {
      nameInput.value = participant.name
      showColor()
    } else {
      confirm()
    }
  })
  details.addEventListener('keydown', event => {
    if (event.key === 'Escape' && details.open) {
      details.open = false
      details.querySelector('summary').focus()
    }
  })

  if (!participant.confirmed) {
    // First visit: offer the form, prefilled, without blocking the editor.
    details.open = true
    nameInput.focus({ preventScroll: true })
    nameInput.select()
  }

  return { participant, announce }
}

/**
 * The session page's phase badge (#session-phase: "live", "ended", ...), rendered by the server:
 * "read-only" while the pad is, what the server said once it is reopened ("open" if it said
 * "read-only").
 */
function phaseShower () {
  const el = document.getElementById('session-phase')
  if (!el) return () => {}
  const served = { text: el.textContent, className: el.className }
  return readOnly => {
    if (readOnly) {
      el.textContent = 'read-only'
      el.className = 'phase phase-read-only'
    } else if (served.text === 'read-only') {
      el.textContent = 'open'
      el.className = 'phase phase-live'
    } else {
      el.textContent = served.text
      el.className = served.className
    }
  }
}

/** Close an open <details> popover when the pointer goes down outside it. */
function closeOnOutsideClick (details) {
  document.addEventListener('pointerdown', event => {
    if (details.open && !details.contains(/** @type {Node} */ (event.target))) {
      details.open = false
    }
  })
}

function main () {
  const root = $('pad')
  const padId = root.dataset.padId || ''
  const wsUrl = resolveWsUrl(root.dataset.wsUrl)

  const doc = new Y.Doc()
  const ytext = doc.getText('content')
  const provider = new WebsocketProvider(wsUrl, padId, doc, { connect: false })
  const awareness = provider.awareness

  const tracker = new SaveTracker(doc, provider, () => {})
  let gate = null
  const showPhase = phaseShower()
  const access = watchAccess(provider, root.dataset.readOnly === 'true', readOnly => {
    gate.setReadOnly(readOnly)
    refreshStatus()
    showPhase(readOnly)
  })
  const refreshStatus = setupStatus(tracker, () => access.readOnly)

  const { participant, announce } = setupParticipant(awareness, root.dataset.authorId)
  bindPeople(awareness, { count: $('people-count'), dots: $('people-dots'), list: $('people-list') })
  closeOnOutsideClick(/** @type {HTMLDetailsElement} */ ($('me')))
  closeOnOutsideClick(/** @type {HTMLDetailsElement} */ ($('people')))
  closeOnOutsideClick(/** @type {HTMLDetailsElement} */ ($('authors')))

  const quill = new Quill($('editor'), {
    theme: 'snow',
    placeholder: 'Take the notes here. Shortcuts: "# " heading, "- " list, "1. " numbered, "[ ] " to-do.',
    formats: FORMATS,
    modules: {
      toolbar: TOOLBAR,
      cursors: true, // y-quill places remote cursors itself on every change
      history: { userOnly: true },
      keyboard: { bindings: markdownBindings() }
    }
  })
  installShortcutFallback(quill)
  installClearFormatting(quill, FORMATS)
  for (const [selector, title] of Object.entries(BUTTON_TITLES)) {
    const el = root.querySelector(`.ql-toolbar ${selector}`)
    if (el) el.title = title
  }

  // Every insert is this participant's before y-quill copies it into the Y.Text, so the
  // attribution goes first (authorship.js).
  const attribution = attributeEdits(quill, participant.id)
  attribution.follow(new QuillBinding(ytext, quill, awareness))
  const authors = setupAuthors({
    ytext,
    awareness,
    editor: quill.root,
    authorId: participant.id,
    url: root.dataset.authorsUrl || '',
    els: {
      panel: /** @type {HTMLDetailsElement} */ (document.getElementById('authors')),
      list: document.getElementById('authors-list'),
      toggle: /** @type {HTMLInputElement} */ (document.getElementById('authorship-colors'))
    }
  })

  gate = new EditGate(quill, root, access.readOnly)
  setupImport(quill)
  setupRevisions()
  provider.on('sync', synced => { if (synced) gate.setReady() })
  retryAfterClose(provider)

  // Leave the "who is here" list at once when the page goes away, and come back after a
  // restore from the back/forward cache.
  window.addEventListener('pagehide', () => {
    awarenessProtocol.removeAwarenessStates(awareness, [doc.clientID], 'page hidden')
  })
  window.addEventListener('pageshow', event => {
    if (event.persisted) announce()
  })

  setupChat(provider, root)
  setupNotices(provider, { onStore: saved => tracker.serverStore(saved) })
  watchDeletion(provider, () => {
    gate.setReadOnly(true)
    quill.setContents([], 'silent')
  })
  provider.connect()

  window.summitpad = {
    doc,
    provider,
    quill,
    awareness,
    authors,
    shadow: tracker.shadow,
    status: () => $('status').textContent,
    readOnly: () => access.readOnly
  }
}

main()
