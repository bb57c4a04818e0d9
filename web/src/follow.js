// Follow mode: the projector keeps the latest remote edit in view, so the room sees what is being
// written wherever it is in the pad. It holds still while someone types on the projector itself
// (for a few seconds after their last keystroke or caret move), and after someone scrolls by hand
// (wheel, touch, scroll bar): then a "Follow" button brings it back at once, or it resumes by
// itself after some idle seconds.
//
// The root carries data-following="true|false" for CSS and tests.

import * as Y from 'yjs'

/** Local typing holds following for this long after the last keystroke. */
export const TYPING_HOLD_MS = 4000
/** Scrolling by hand holds following until this long without scrolling. */
export const SCROLL_HOLD_MS = 20000

/** The index just after the last change a Y.Text event describes (null if none). */
export const lastChangeIndex = delta => {
  let index = 0
  let last = null
  for (const op of delta) {
    if (op.insert !== undefined) {
      index += typeof op.insert === 'string' ? op.insert.length : 1
      last = index
    } else if (op.delete !== undefined) {
      last = index
    } else if (op.retain !== undefined) {
      index += op.retain
      if (op.attributes) last = index
    }
  }
  return last
}

export class Follower {
  /**
   * @param {object} options
   * @param {any} options.quill
   * @param {HTMLElement} options.root
   * @param {HTMLButtonElement} options.button the "Follow" button, shown while following is held
   * @param {() => number} options.now
   */
  constructor ({ quill, root, button, now }) {
    this.quill = quill
    this.scroller = quill.root // .ql-editor scrolls
    this.root = root
    this.button = button
    this.now = now
    this.ytext = null
    this.lastEdit = null // a Y.RelativePosition: stays put while the text around it changes
    this.lastTyped = -Infinity
    this.lastScrolled = -Infinity
    this._wasHeld = false
    this._frame = 0
    this._observer = event => {
      if (event.transaction.local) return
      const index = lastChangeIndex(event.delta)
      if (index === null || !this.ytext) return
      this.lastEdit = Y.createRelativePositionFromTypeIndex(this.ytext, index)
      if (this.following) this._scrollSoon()
    }

    // typing, and moving the caret (click, arrow keys, page keys), is someone working here
    quill.on('editor-change', (type, rangeOrDelta, _old, source) => {
      if (source === 'user' && (type === 'text-change' || rangeOrDelta !== null)) this.lastTyped = this.now()
    })
    const byHand = () => this.holdByHand()
    this.scroller.addEventListener('wheel', byHand, { passive: true })
    this.scroller.addEventListener('touchmove', byHand, { passive: true })
    this.scroller.addEventListener('pointerdown', event => {
      // on the scroll bar (right of the content box): dragging it is scrolling by hand
      if (event.offsetX > this.scroller.clientWidth) byHand()
    })
    button.addEventListener('click', () => this.resume())
    this.update()
  }

  /** Follow edits of this text (the pad shown now); null to stop. */
  attach (ytext) {
    if (this.ytext) this.ytext.unobserve(this._observer)
    this.ytext = ytext
    this.lastEdit = null
    if (ytext) ytext.observe(this._observer)
  }

  get heldByHand () {
    return this.now() - this.lastScrolled < SCROLL_HOLD_MS
  }

  get typing () {
    return this.now() - this.lastTyped < TYPING_HOLD_MS
  }

  get following () {
    return !this.heldByHand && !this.typing
  }

  holdByHand () {
    this.lastScrolled = this.now()
    this.update()
  }

  resume () {
    this.lastScrolled = -Infinity
    this.update()
    this.scrollToLastEdit()
  }

  /** Call every second or so: resumes after the idle time, keeps the attributes current. */
  update () {
    const held = this.heldByHand
    if (this._wasHeld && !held) this.scrollToLastEdit()
    this._wasHeld = held
    this.button.hidden = !held
    this.root.dataset.following = String(this.following)
  }

  _scrollSoon () {
    if (this._frame) return
    // after Quill has drawn the change (y-quill applies it in its own observer)
    this._frame = requestAnimationFrame(() => {
      this._frame = 0
      this.scrollToLastEdit()
    })
  }

  /** Bring the latest remote edit into view (in the lower part of the screen). */
  scrollToLastEdit () {
    if (!this.lastEdit || !this.ytext || !this.ytext.doc) return
    const at = Y.createAbsolutePositionFromRelativePosition(this.lastEdit, this.ytext.doc)
    if (!at) return
    const length = this.quill.getLength()
    const index = Math.max(0, Math.min(at.index, length - 1))
    const bounds = this.quill.getBounds(index > 0 ? index - 1 : 0, 1)
    if (!bounds) return
    const scroller = this.scroller
    const height = scroller.clientHeight
    const margin = Math.min(height * 0.15, 120)
    if (bounds.top >= margin && bounds.bottom <= height - margin) return
    const reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches
    scroller.scrollTo({
      top: Math.max(0, scroller.scrollTop + bounds.bottom - height * 0.75),
      behavior: reduce ? 'auto' : 'smooth'
    })
  }
}
