// The projector's text size. "Auto" picks the largest size at which the notes fit the screen
// (no line sticks out sideways, and the whole text fits the height), between a minimum still
// readable from the back of a room and a maximum, both in proportion to the screen width: large
// while the notes are short, smaller as they grow, and from the minimum on the notes scroll (follow
// mode keeps the latest edit in view). The +/− controls switch to a size of the
// person's own, remembered by this browser until "Auto" is chosen again.
//
// The size is the CSS custom property --notes-size on the root; the root also carries
// data-font-mode="auto|manual" and data-font-size (px) for the tests.

const STORAGE_KEY = 'summitpad.projector.fontSize'
const AUTO_MIN_VW = 0.022 // ~42 px on a 1920 px wide screen: ~13 lines on a 1080p projector
const AUTO_MAX_VW = 0.05 // ~96 px
const AUTO_MIN_PX = 18
const MANUAL_MIN_PX = 12
const MANUAL_MAX_PX = 240
const STEP = 1.125
const REFIT_EVERY_MS = 250

const readStored = () => {
  try {
    const value = Number(window.localStorage.getItem(STORAGE_KEY))
    return Number.isFinite(value) && value >= MANUAL_MIN_PX && value <= MANUAL_MAX_PX ? value : null
  } catch (_) {
    return null
  }
}

const store = value => {
  try {
    if (value === null) window.localStorage.removeItem(STORAGE_KEY)
    else window.localStorage.setItem(STORAGE_KEY, String(value))
  } catch (_) {
    // storage may be off: the choice lasts for this page
  }
}

export class FontSizer {
  /**
   * @param {HTMLElement} root carries --notes-size and the data attributes
   * @param {HTMLElement} box the scrolling element the notes must fit (Quill's .ql-editor)
   * @param {() => void} onChange called after the size changed
   */
  constructor (root, box, onChange = () => {}) {
    this.root = root
    this.box = box
    this.onChange = onChange
    this.manual = readStored()
    this.size = 0
    this._pending = false
    this._last = 0
    this._timer = 0
    // the window, or the header above the notes (a longer title), changed size
    if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.refit()).observe(box)
    else window.addEventListener('resize', () => this.refit())
    this.fit()
  }

  get bounds () {
    const width = window.innerWidth || 1280
    const min = Math.max(AUTO_MIN_PX, Math.round(width * AUTO_MIN_VW))
    return { min, max: Math.max(min, Math.round(width * AUTO_MAX_VW)) }
  }

  /** Fit again soon (coalesced: text changes come in bursts). */
  refit () {
    if (this._pending) return
    this._pending = true
    const wait = Math.max(0, this._last + REFIT_EVERY_MS - Date.now())
    this._timer = setTimeout(() => requestAnimationFrame(() => {
      this._pending = false
      this._last = Date.now()
      this.fit()
    }), wait)
  }

  _set (px) {
    this.root.style.setProperty('--notes-size', `${px}px`)
  }

  _fits () {
    const box = this.box
    return box.scrollWidth <= box.clientWidth + 1 && box.scrollHeight <= box.clientHeight + 1
  }

  _fitsWidth () {
    return this.box.scrollWidth <= this.box.clientWidth + 1
  }

  /** The largest size in [min, max] for which `fits` holds (min if none does). */
  _search (min, max, fits) {
    this._set(max)
    if (fits()) return max
    let lo = min
    let hi = max
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2)
      this._set(mid)
      if (fits()) lo = mid
      else hi = mid
    }
    return lo
  }

  fit () {
    const before = this.size
    let size
    if (this.manual !== null) {
      size = this.manual
      this.root.classList.add('notes-wrap-anywhere')
    } else {
      const { min, max } = this.bounds
      this.root.classList.remove('notes-wrap-anywhere')
      this._set(min)
      size = this._fits() ? this._search(min, max, () => this._fits()) : min
      this._set(size)
      // a word too long for the line even at the smallest size is broken, not cut off
      if (size === min && !this._fitsWidth()) this.root.classList.add('notes-wrap-anywhere')
    }
    this._set(size)
    this.size = size
    this.root.dataset.fontMode = this.manual === null ? 'auto' : 'manual'
    this.root.dataset.fontSize = String(size)
    if (size !== before) this.onChange()
  }

  larger () { this._manual(Math.round(this.size * STEP)) }

  smaller () { this._manual(Math.round(this.size / STEP)) }

  auto () {
    this.manual = null
    store(null)
    this.fit()
  }

  _manual (px) {
    this.manual = Math.min(MANUAL_MAX_PX, Math.max(MANUAL_MIN_PX, px))
    store(this.manual)
    this.fit()
  }
}
