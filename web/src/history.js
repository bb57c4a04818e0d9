// summitpad: a pad's history page, the timeslider (templates/history.html).
//
// The page is rendered at one revision; this moves through the others with <pad>/history.json
// ?rev=n, which gives the revision's time, author, text (HTML the server built with every user
// string escaped), the authors of the text and the saved revisions. Names and labels go into
// the page with textContent only. The page hands over its data in data- attributes of
// <main id="history"> (no inline script):
//   data-json-url  <pad>/history.json
//   data-count     how many revisions the pad has (the slider goes 0..count)
//   data-rev       the revision shown
// Authorship colours are set with the CSSOM (style.backgroundColor), never as style attributes.

const PLAY_STEP_MS = 250 // four revisions a second
const $ = id => /** @type {HTMLElement} */ (document.getElementById(id))
const COLOR = /^#[0-9a-fA-F]{6}$/

const localTime = iso => {
  const at = new Date(iso)
  return Number.isNaN(at.getTime()) ? '' : at.toLocaleString()
}

/** Show every <time datetime> under `root` in the browser's time zone. */
function localizeTimes (root) {
  for (const el of root.querySelectorAll('time[datetime]')) {
    const shown = localTime(el.getAttribute('datetime'))
    if (shown) el.textContent = shown
  }
}

/** Colour the runs of each author (spans of class author-<i>) and the legend's chips. */
function colourAuthors (text, legend, authors) {
  for (const author of authors) {
    if (!COLOR.test(author.color) || !/^author-\d+$/.test(author.class)) continue
    for (const span of text.querySelectorAll(`.${author.class}`)) {
      span.style.backgroundColor = author.color + '33'
      span.style.boxShadow = `inset 0 -2px 0 ${author.color}`
    }
  }
  legend.replaceChildren(...authors.map(author => {
    const item = document.createElement('li')
    const chip = document.createElement('span')
    chip.className = 'chip'
    chip.setAttribute('aria-hidden', 'true')
    if (COLOR.test(author.color)) chip.style.backgroundColor = author.color
    item.append(chip, ' ', author.name)
    return item
  }))
}

/** The authors of the server-rendered revision, from its legend's data- attributes. */
const servedAuthors = legend => [...legend.querySelectorAll('li')].map(item => ({
  class: item.dataset.class || '',
  color: item.dataset.color || '',
  name: item.textContent.trim()
}))

function main () {
  const root = $('history')
  const jsonUrl = root.dataset.jsonUrl || ''
  let count = Number(root.dataset.count) || 0
  let shown = Number(root.dataset.rev) || 0
  let wanted = shown
  let playing = false
  let savedKey = ''

  const slider = /** @type {HTMLInputElement} */ ($('slider'))
  const back = /** @type {HTMLButtonElement} */ ($('step-back'))
  const forward = /** @type {HTMLButtonElement} */ ($('step-forward'))
  const play = /** @type {HTMLButtonElement} */ ($('play'))
  const text = $('rev-text')
  const legend = $('rev-authors')
  const error = $('rev-error')
  const marks = $('saved-marks')
  const savedList = $('saved-list')
  const restoreRev = /** @type {HTMLInputElement} */ ($('restore-rev'))
  const restoreForm = /** @type {HTMLFormElement} */ ($('restore-form'))

  // Revisions before the last never change; the last one may still grow.
  const cache = new Map()
  const load = async rev => {
    if (cache.has(rev)) return cache.get(rev)
    const response = await fetch(`${jsonUrl}?rev=${rev}`, {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin'
    })
    if (!response.ok) throw new Error(`Revision ${rev} cannot be shown (${response.status}).`)
    const data = await response.json()
    if (data.rev < data.count) cache.set(rev, data)
    return data
  }

  const showControls = () => {
    slider.max = String(count)
    slider.value = String(wanted)
    $('rev-number').textContent = String(wanted)
    $('rev-count').textContent = String(count)
    back.disabled = wanted <= 0
    forward.disabled = wanted >= count
    play.textContent = playing ? 'Pause' : 'Play'
    play.setAttribute('aria-pressed', String(playing))
  }

  const showSaved = saved => {
    const key = JSON.stringify(saved) + count
    if (key === savedKey) return
    savedKey = key
    savedList.replaceChildren(...saved.map(entry => {
      const item = document.createElement('li')
      const link = document.createElement('a')
      link.href = `?rev=${entry.rev}`
      link.dataset.rev = String(entry.rev)
      link.textContent = `★ ${entry.label}`
      const meta = document.createElement('span')
      meta.className = 'saved-meta'
      meta.textContent = ` revision ${entry.rev}${entry.name ? ` · ${entry.name}` : ''} · ${localTime(entry.time)}`
      item.append(link, meta)
      return item
    }))
    $('saved-none').hidden = saved.length > 0
    marks.replaceChildren(...saved.map(entry => {
      const mark = document.createElement('li')
      mark.className = 'saved-mark'
      mark.title = entry.label
      mark.style.left = `${count ? (100 * entry.rev) / count : 0}%`
      mark.dataset.rev = String(entry.rev)
      return mark
    }))
  }

  const render = data => {
    shown = data.rev
    count = data.count
    text.innerHTML = data.html // built by the server, every user string escaped
    colourAuthors(text, legend, data.authors)
    const time = $('rev-time')
    if (data.time) {
      time.setAttribute('datetime', data.time)
      time.textContent = localTime(data.time)
    } else {
      time.removeAttribute('datetime')
      time.textContent = ''
    }
    const author = $('rev-author')
    author.hidden = !data.author
    if (data.author) {
      $('rev-author-name').textContent = data.author.name || 'nobody (the template)'
      $('rev-author-chip').style.backgroundColor = COLOR.test(data.author.color) ? data.author.color : 'transparent'
    }
    showSaved(data.saved)
    restoreRev.value = String(shown)
    for (const link of document.querySelectorAll('#rev-exports a[data-fmt]')) {
      const url = new URL(/** @type {HTMLAnchorElement} */ (link).href)
      url.searchParams.set('rev', String(shown))
      link.setAttribute('href', url.pathname + url.search)
    }
    history.replaceState(null, '', `?rev=${shown}`)
    showControls()
  }

  const seek = async rev => {
    wanted = Math.max(0, Math.min(count, rev))
    showControls()
    const asked = wanted
    let data
    try {
      data = await load(asked)
    } catch (err) {
      error.textContent = err.message
      error.hidden = false
      return false
    }
    error.hidden = true
    if (asked !== wanted) return true // a later seek overtook this one
    render(data)
    return true
  }

  const stop = () => {
    playing = false
    showControls()
  }

  const start = async () => {
    if (wanted >= count) await seek(0)
    playing = true
    showControls()
    while (playing && wanted < count) {
      const step = new Promise(resolve => setTimeout(resolve, PLAY_STEP_MS))
      if (!(await seek(wanted + 1))) break
      await step
    }
    stop()
  }

  slider.addEventListener('input', () => {
    const rev = Number(slider.value)
    stop()
    seek(rev)
  })
  back.addEventListener('click', () => { stop(); seek(wanted - 1) })
  forward.addEventListener('click', () => { stop(); seek(wanted + 1) })
  play.addEventListener('click', () => { if (playing) stop(); else start() })
  document.addEventListener('keydown', event => {
    const target = /** @type {HTMLElement} */ (event.target)
    if (target === slider || target.closest('input, textarea, select, [contenteditable]')) return
    if (event.altKey || event.ctrlKey || event.metaKey) return
    const moves = { ArrowLeft: wanted - 1, ArrowRight: wanted + 1, Home: 0, End: count }
    if (!(event.key in moves)) return
    event.preventDefault()
    stop()
    seek(moves[event.key])
  })
  for (const list of [savedList, marks]) {
    list.addEventListener('click', event => {
      const link = /** @type {HTMLElement} */ (event.target).closest('[data-rev]')
      if (!link) return
      event.preventDefault()
      stop()
      seek(Number(link.dataset.rev))
    })
  }
  restoreForm.addEventListener('submit', event => {
    stop()
    const question = `Bring the pad's text back to revision ${shown}? Everybody sees the change at once; the history keeps every revision.`
    if (!window.confirm(question)) event.preventDefault()
  })

  colourAuthors(text, legend, servedAuthors(legend))
  const chip = $('rev-author-chip')
  if (COLOR.test(chip.dataset.color || '')) chip.style.backgroundColor = chip.dataset.color
  localizeTimes(root)
  showControls()
  seek(shown) // the saved revisions' marks, and anything that changed since the page was made

  window.summitpad = { seek, shown: () => shown, playing: () => playing, count: () => count }
}

main()
