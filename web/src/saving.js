// The status line: connection state plus "are my changes saved?".
//
// Saved means the server has sent this client's changes back. The server echoes every update
// to its sender, but it may merge several clients' updates into one message, and a pure deletion
// does not move the state vector, so counting messages or comparing state vectors is not enough.
// Instead every document update the SERVER sends (sync step 2 and sync update) is also applied to
// a shadow Y.Doc. The shadow is what the server is known to hold; the local document is saved
// when both have the same snapshot (state vector and delete set).

import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

const MESSAGE_SYNC = 0
const SYNC_STEP1 = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2

/** Status text by state; the text is what the page shows, exactly. */
export const STATUS_TEXT = Object.freeze({
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  saved: 'all changes saved',
  saving: 'saving…',
  'not-saved': 'not saved — the server cannot store changes right now',
  offline: 'offline — changes will be saved when reconnected',
  'read-only': 'read-only'
})

const CHECK_DELAY_MS = 100
const CHECK_MAX_WAIT_MS = 500
const NOT_SAVED_AFTER_MS = 3000
const PENDING_MERGE_AT = 64

export class SaveTracker {
  /**
   * @param {Y.Doc} doc the local document
   * @param {import('y-websocket').WebsocketProvider} provider created with `connect: false`
   * @param {(state: string) => void} onState called when the state changes
   */
  constructor (doc, provider, onState) {
    this.doc = doc
    this.provider = provider
    this.onState = onState
    /** What the server is known to hold. */
    this.shadow = new Y.Doc({ gc: true })
    this.state = 'connecting'
    this.everSynced = false
    this.syncedAt = 0
    this.equal = true
    /** Local changes not yet seen back from the server: { time, update }. */
    this.pending = []
    this._timer = 0
    this._firstRequest = 0
    this._staleTimer = 0
    /** The server said it cannot store edits now (Valkey away): nobody's are saved. */
    this.serverCannotStore = false

    const originalSync = provider.messageHandlers[MESSAGE_SYNC]
    provider.messageHandlers[MESSAGE_SYNC] = (encoder, decoder, prov, emitSynced, messageType) => {
      // emitSynced is true for messages from the websocket and false for messages from other
      // tabs of this browser (BroadcastChannel): only the former prove the server has the data.
      if (emitSynced) this._readServerMessage(decoder)
      originalSync(encoder, decoder, prov, emitSynced, messageType)
      this.schedule()
    }

    doc.on('update', (update, origin) => {
      if (origin !== provider) {
        this.pending.push({ time: Date.now(), update })
        if (this.pending.length > PENDING_MERGE_AT) {
          // keep the queue short: one merged entry, as old as its oldest part
          this.pending = [{ time: this.pending[0].time, update: Y.mergeUpdates(this.pending.map(p => p.update)) }]
        }
      }
      this.schedule()
    })

    provider.on('status', ({ status }) => {
      // A server that still cannot store says so again when this connection joins its notices.
      if (status !== 'connected') this.serverCannotStore = false
      if (status === 'connected' && this.everSynced) this._requestMissingEchoes()
      this.update()
      this.schedule()
    })
    provider.on('sync', synced => {
      if (synced) {
        this.everSynced = true
        this.syncedAt = Date.now()
      }
      this.update()
      this.schedule()
    })
    window.addEventListener('online', () => this.update())
    window.addEventListener('offline', () => this.update())
  }

  /**
   * What the server says of its store: it cannot write now (`saved` false: every page of the
   * pad says not saved at once, whoever typed) or it can again.
   * @param {boolean} saved
   */
  serverStore (saved) {
    this.serverCannotStore = !saved
    this.update()
    this.schedule()
  }

  /** Apply a server sync message (step 2 or update) to the shadow, leaving `decoder` unread. */
  _readServerMessage (decoder) {
    try {
      const peek = decoding.clone(decoder)
      const syncType = decoding.readVarUint(peek)
      if (syncType === SYNC_STEP2 || syncType === SYNC_UPDATE) {
        Y.applyUpdate(this.shadow, decoding.readVarUint8Array(peek), this)
      }
    } catch (err) {
      // a message the shadow cannot take is one the real handler will report too
      console.warn('summitpad: could not read a sync message for the save check', err)
    }
  }

  /**
   * After a reconnect, changes whose echo was lost with the old connection are already in the
   * local state vector, so the server's sync step 2 (computed against it) leaves them out. Ask
   * the server for everything beyond the shadow's state vector: its answer (a sync step 2)
   * brings the shadow up to date.
   */
  _requestMissingEchoes () {
    const ws = this.provider.ws
    if (!ws || ws.readyState !== ws.OPEN) return
    if (Y.equalSnapshots(Y.snapshot(this.doc), Y.snapshot(this.shadow))) return
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    encoding.writeVarUint(encoder, SYNC_STEP1)
    encoding.writeVarUint8Array(encoder, Y.encodeStateVector(this.shadow))
    ws.send(encoding.toUint8Array(encoder))
  }

  /** Check again soon: 100 ms after the last event, but at least every 500 ms. */
  schedule () {
    const now = Date.now()
    if (this._timer === 0) this._firstRequest = now
    else clearTimeout(this._timer)
    const wait = Math.max(0, Math.min(CHECK_DELAY_MS, this._firstRequest + CHECK_MAX_WAIT_MS - now))
    this._timer = setTimeout(() => {
      this._timer = 0
      this.check()
    }, wait)
  }

  /** Compare the local document with the shadow now. */
  check () {
    const shadowSnapshot = Y.snapshot(this.shadow)
    this.equal = Y.equalSnapshots(Y.snapshot(this.doc), shadowSnapshot)
    if (this.equal) {
      this.pending = []
    } else if (this.pending.length > 0 && this.provider.wsconnected) {
      this.pending = this.pending.filter(p => !Y.snapshotContainsUpdate(shadowSnapshot, p.update))
    }
    this.update()
  }

  /** Age of the oldest local change the server has not confirmed, counted while synced. */
  unconfirmedFor () {
    if (this.pending.length === 0) return 0
    return Date.now() - Math.max(this.pending[0].time, this.syncedAt)
  }

  computeState () {
    const provider = this.provider
    if (!provider.wsconnected) {
      if (!this.equal || navigator.onLine === false) return 'offline'
      return this.everSynced ? 'reconnecting' : 'connecting'
    }
    if (!provider.synced) return 'connected'
    if (this.serverCannotStore) return 'not-saved'
    if (this.equal) return 'saved'
    const age = this.unconfirmedFor()
    if (age > NOT_SAVED_AFTER_MS) return 'not-saved'
    // look again when this change becomes overdue
    clearTimeout(this._staleTimer)
    if (this.pending.length > 0) this._staleTimer = setTimeout(() => this.check(), NOT_SAVED_AFTER_MS - age + 50)
    return 'saving'
  }

  update () {
    const state = this.computeState()
    if (state !== this.state) {
      this.state = state
      this.onState(state)
    }
  }

  get text () {
    return STATUS_TEXT[this.state]
  }
}
