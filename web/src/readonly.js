// Read-only pads. A locked session's pad (or one whose grace period has passed) takes no edits:
// the server drops them, and tells every client over y-websocket with a y-protocols auth message
// (type 2):
//   subtype 0 "permission denied", reason "read-only"   when the pad is or becomes read-only
//   subtype 1 (summitpad's own),     reason "read-write"  when it is reopened
// The stock client only logs subtype 0 and ignores subtype 1; here both drive the editor.
//
// A new connection to a read-only pad is told so before the server's sync step 1, so a
// connection that synced without a denial is writable (the pad may have been reopened while
// this client was away: the server sends no "read-write" then).

import * as decoding from 'lib0/decoding'

export const MESSAGE_AUTH = 2
export const AUTH_DENIED = 0
export const AUTH_GRANTED = 1

/** Enable typing at the first sync with the server, or after this long without one. */
export const ENABLE_WITHOUT_SYNC_MS = 4000

/**
 * Follow the server's word on whether this client may write.
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {boolean} readOnly what the page said at load (data-read-only)
 * @param {(readOnly: boolean) => void} onChange called when it changes
 * @returns {{ readonly readOnly: boolean }}
 */
export const watchAccess = (provider, readOnly, onChange) => {
  let deniedOnThisConnection = false
  const set = value => {
    if (value === readOnly) return
    readOnly = value
    onChange(value)
  }
  provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
    const subtype = decoding.readVarUint(decoder)
    const reason = decoding.hasContent(decoder) ? decoding.readVarString(decoder) : ''
    if (subtype === AUTH_DENIED) {
      deniedOnThisConnection = true
      set(true)
    } else if (subtype === AUTH_GRANTED) {
      set(false)
    } else {
      console.warn(`summitpad: unknown auth message ${subtype} (${reason})`)
    }
  }
  provider.on('status', ({ status }) => {
    if (status === 'connected') deniedOnThisConnection = false
  })
  provider.on('sync', synced => {
    if (synced && !deniedOnThisConnection) set(false)
  })
  return {
    get readOnly () { return readOnly }
  }
}

/**
 * Whether the editor takes typing: once the first sync is done (or has taken too long), and
 * while the pad is not read-only. Mirrored on the root element for CSS and tests:
 * `data-read-only="true|false"`, class `loading` until ready, class `read-only`.
 */
export class EditGate {
  /**
   * @param {any} quill
   * @param {HTMLElement} root
   * @param {boolean} readOnly
   */
  constructor (quill, root, readOnly) {
    this.quill = quill
    this.root = root
    this.ready = false
    this.readOnly = readOnly
    this._timer = setTimeout(() => this.setReady(), ENABLE_WITHOUT_SYNC_MS)
    this.apply()
  }

  setReady () {
    clearTimeout(this._timer)
    if (this.ready) return
    this.ready = true
    this.apply()
  }

  /** @param {boolean} readOnly */
  setReadOnly (readOnly) {
    this.readOnly = readOnly
    this.apply()
  }

  get editable () {
    return this.ready && !this.readOnly
  }

  apply () {
    this.quill.enable(this.editable)
    if (this.readOnly) this.quill.blur()
    this.root.dataset.readOnly = String(this.readOnly)
    this.root.classList.toggle('read-only', this.readOnly)
    this.root.classList.toggle('loading', !this.ready)
  }

  destroy () {
    clearTimeout(this._timer)
  }
}
