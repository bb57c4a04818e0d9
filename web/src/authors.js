// The pad's authors, like Etherpad: each author's text on a light wash of their colour, and a
// list of who wrote how much. The colours are on by default; each viewer can hide them for
// themselves (remembered in this browser), which changes nothing in the pad.
//
// Colours and names come from awareness (`user.id`, `user.name`, `user.color`) for the people
// here now, and from the page's `authors.json` for the others; it is fetched again, a little
// later, when text of an author nobody knows yet appears. The colour rules live in a
// constructed stylesheet (the page's CSP allows no inline style): one rule per author,
//   .ql-editor:not(.authorship-hidden) .author-<id> { background-color: <colour>40 }
// (<id> as authorship.js writes it in a class name).
// Names are other people's text: only ever set with textContent.

import { AUTHOR, AUTHOR_ID, authorClass } from './authorship.js'
import { cleanName } from './participant.js'

export const HIDDEN_CLASS = 'authorship-hidden'
const STORAGE_KEY = 'summitpad.authorship-colors'
const HEX_COLOR = /^#[0-9a-f]{6}$/i
const FALLBACK_COLOR = '#475467'
const WASH = '40' // alpha of the background: 0x40 / 0xff, a quarter
const LIST_EVERY_MS = 500
const FETCH_DELAY_MS = 1000
const FETCH_RETRY_MS = 5000
const FETCH_ATTEMPTS = 3

const validColor = color => (typeof color === 'string' && HEX_COLOR.test(color) ? color.toLowerCase() : null)

/** Code points (as the server counts), line breaks left out. */
const characters = text => {
  let n = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 10 || (c >= 0xdc00 && c <= 0xdfff && i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff)) n--
  }
  return n
}

/**
 * Characters per author id in a Y.Text delta ("" for text without an author).
 * @param {Array<{ insert?: any, attributes?: Record<string, any> }>} delta
 * @returns {Map<string, number>}
 */
export const countAuthors = delta => {
  const counts = new Map()
  for (const op of delta) {
    if (typeof op.insert !== 'string') continue
    const size = characters(op.insert)
    if (size === 0) continue
    const author = (op.attributes && typeof op.attributes[AUTHOR] === 'string') ? op.attributes[AUTHOR] : ''
    counts.set(author, (counts.get(author) || 0) + size)
  }
  return counts
}

/** The CSS that colours each author's text; ids and colours are checked before use. */
export const colorRules = colors => [...colors]
  .filter(([id, color]) => AUTHOR_ID.test(id) && validColor(color))
  .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  .map(([id, color]) => `.ql-editor:not(.${HIDDEN_CLASS}) .${authorClass(id)} { background-color: ${validColor(color)}${WASH}; }`)
  .join('\n')

class ColorSheet {
  constructor () {
    this.css = ''
    this.sheet = null
    if ('adoptedStyleSheets' in document && typeof CSSStyleSheet === 'function') {
      this.sheet = new CSSStyleSheet()
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, this.sheet]
    }
  }

  show (colors) {
    const css = colorRules(colors)
    if (css === this.css || this.sheet === null) return
    this.css = css
    this.sheet.replaceSync(css)
  }
}

const readShown = () => {
  try {
    return window.localStorage.getItem(STORAGE_KEY) !== 'hidden'
  } catch (_) {
    return true
  }
}

const saveShown = shown => {
  try {
    if (shown) window.localStorage.removeItem(STORAGE_KEY)
    else window.localStorage.setItem(STORAGE_KEY, 'hidden')
  } catch (_) {}
}

const chip = color => {
  const span = document.createElement('span')
  span.className = 'author-chip'
  if (color) span.style.backgroundColor = color
  else span.classList.add('none')
  span.setAttribute('aria-hidden', 'true')
  return span
}

/**
 * Colour the authors' text and keep the authors list.
 * @param {{
 *   ytext: import('yjs').Text,
 *   awareness: import('y-protocols/awareness').Awareness,
 *   editor: HTMLElement,
 *   authorId: string,
 *   url: string,
 *   els: { panel: HTMLDetailsElement | null, list: HTMLElement | null, toggle: HTMLInputElement | null }
 * }} options `editor` is Quill's root (.ql-editor); `url` the page's authors.json ('' for none)
 */
export const setupAuthors = ({ ytext, awareness, editor, authorId, url, els }) => {
  const sheet = new ColorSheet()
  /** @type {Map<string, { name: string, color: string | null }>} from authors.json */
  const stored = new Map()
  /** author ids seen in the text */
  const seen = new Set()
  /** author id -> fetches of authors.json that did not know it */
  const misses = new Map()
  let fetchTimer = 0
  let fetching = false
  let fetched = false

  /** @returns {Map<string, { name: string, color: string }>} the people here, by author id */
  const present = () => {
    const people = new Map()
    awareness.getStates().forEach(state => {
      const user = state && state.user
      if (!user || typeof user.id !== 'string' || !AUTHOR_ID.test(user.id)) return
      const color = validColor(user.color)
      if (color) people.set(user.id, { name: cleanName(user.name) || 'anonymous', color })
    })
    return people
  }

  const describe = (id, people = present()) => {
    const here = people.get(id)
    if (here) return here
    const known = stored.get(id)
    if (known) return known
    if (id === '') return { name: 'unknown', color: null }
    return { name: 'anonymous', color: (misses.get(id) || 0) >= FETCH_ATTEMPTS ? FALLBACK_COLOR : null }
  }

  const unknown = people => [...seen].filter(id =>
    !people.has(id) && !stored.has(id) && (misses.get(id) || 0) < FETCH_ATTEMPTS)

  const paint = () => {
    const people = present()
    const colors = new Map()
    for (const id of seen) {
      const { color } = describe(id, people)
      if (color) colors.set(id, color)
    }
    sheet.show(colors)
    if (unknown(people).length > 0) scheduleFetch(FETCH_DELAY_MS)
  }

  const fetchAuthors = async () => {
    fetchTimer = 0
    if (!url || fetching) return
    fetching = true
    const asked = unknown(present())
    try {
      const response = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' })
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
      const body = await response.json()
      for (const entry of (body && Array.isArray(body.authors)) ? body.authors : []) {
        if (!entry || typeof entry.id !== 'string' || (entry.id !== '' && !AUTHOR_ID.test(entry.id))) continue
        stored.set(entry.id, { name: cleanName(entry.name) || 'anonymous', color: validColor(entry.color) })
      }
      fetched = true
    } catch (err) {
      console.warn('summitpad: the list of authors could not be read', err)
    } finally {
      fetching = false
    }
    for (const id of asked) if (!stored.has(id)) misses.set(id, (misses.get(id) || 0) + 1)
    paint()
    if (els.panel && els.panel.open) renderList()
  }

  function scheduleFetch (delay) {
    if (fetchTimer || fetching || !url) return
    // the first look is soon; asking again about the same people waits longer
    const again = [...misses.values()].some(n => n > 0)
    fetchTimer = window.setTimeout(fetchAuthors, again ? FETCH_RETRY_MS : delay)
  }

  const note = delta => {
    let added = false
    for (const op of delta) {
      const id = op.attributes && op.attributes[AUTHOR]
      if (typeof id === 'string' && id && !seen.has(id)) {
        seen.add(id)
        added = true
      }
    }
    return added
  }

  // ---- the list ----

  const renderList = () => {
    if (!els.list) return
    const people = present()
    const entries = [...countAuthors(ytext.toDelta())].map(([id, chars]) => ({ id, chars, ...describe(id, people) }))
    entries.sort((a, b) => (b.chars - a.chars) || a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1))
    if (entries.length === 0) {
      const li = document.createElement('li')
      li.className = 'empty'
      li.textContent = 'Nobody has written anything yet.'
      els.list.replaceChildren(li)
      return
    }
    els.list.replaceChildren(...entries.map(entry => {
      const li = document.createElement('li')
      li.dataset.authorId = entry.id
      li.dataset.chars = String(entry.chars)
      const name = document.createElement('span')
      name.className = 'name'
      name.textContent = entry.name
      li.append(chip(entry.color), name)
      if (entry.id === authorId && entry.id) {
        const you = document.createElement('span')
        you.className = 'you'
        you.textContent = '(you)'
        li.append(' ', you)
      }
      const count = document.createElement('span')
      count.className = 'chars'
      count.textContent = entry.chars === 1 ? '1 character' : `${entry.chars.toLocaleString()} characters`
      li.append(count)
      return li
    }))
  }

  let listTimer = 0
  const scheduleList = () => {
    if (listTimer || !els.panel || !els.panel.open) return
    listTimer = window.setTimeout(() => {
      listTimer = 0
      renderList()
    }, LIST_EVERY_MS)
  }

  // ---- wiring ----

  ytext.observe(event => {
    if (note(event.delta)) paint()
    scheduleList()
  })
  let paintQueued = false
  awareness.on('change', () => {
    if (paintQueued) return
    paintQueued = true
    requestAnimationFrame(() => {
      paintQueued = false
      paint()
      scheduleList()
    })
  })
  if (els.panel) {
    els.panel.addEventListener('toggle', () => {
      if (!els.panel.open) return
      renderList()
      if (!fetched && !fetching) fetchAuthors() // the name of text without an author, at least
    })
  }

  const show = shown => editor.classList.toggle(HIDDEN_CLASS, !shown)
  const shown = readShown()
  show(shown)
  if (els.toggle) {
    els.toggle.checked = shown
    els.toggle.addEventListener('change', () => {
      show(els.toggle.checked)
      saveShown(els.toggle.checked)
    })
  }

  note(ytext.toDelta())
  paint()

  return {
    /** author id -> colour, as the stylesheet has them now */
    rules: () => sheet.css,
    renderList
  }
}
