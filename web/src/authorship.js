// Who wrote what. Every run of the pad's Y.Text carries the id of its author in the `author`
// attribute; in Quill it is an inline format drawn as the class `author-<id>` (authors.js
// colours those classes), with "_" written "_u" and "-" written "_d": Parchment finds a class
// attributor by the class name up to its last "-", so the id must have none.
//
// The server attributes every insert to the participant of the connection that sent it and
// closes (4403) a connection whose update changes the author of text already there. So this
// editor:
// - writes this participant's id into every insert it makes, in the same Y.Text transaction as
//   the text: typing inside someone else's run is attributed to the typist at once, without a
//   correction from the server;
// - never sends a change of `author` on existing text: "clear formatting" clears everything but
//   the author, and any other user edit that would change it is stripped of that part.
//
// How: y-quill copies each Quill change into the Y.Text from its 'editor-change' listener, and
// Quill's emitter calls listeners in the order they were added, every one with the same delta
// object. `attributeEdits` adds a listener before the QuillBinding exists that rewrites the
// delta's ops in place (new attribute objects, never the ones Quill keeps), so y-quill applies
// the rewritten ops; `follow(binding)` then adds one after the binding that brings Quill's own
// model in line (`formatText` with the binding as the source, which y-quill skips: the Y.Text
// already holds it).

import Quill from 'quill/core.js'

const { ClassAttributor, Scope } = Quill.import('parchment')

export const AUTHOR = 'author'
export const AUTHOR_ID = /^[A-Za-z0-9_-]{1,64}$/

/** Sources of Quill changes made here (typing, the toolbar, shortcuts), not by y-quill. */
const LOCAL_SOURCES = new Set(['user', 'api'])

/** An author id as it is written in a class name: no "-" in it. */
const classId = id => id.replace(/_/g, '_u').replace(/-/g, '_d')
const idOfClass = written => written.replace(/_([ud])/g, (_, c) => (c === 'u' ? '_' : '-'))

/** The class of an author's text. */
export const authorClass = id => `${AUTHOR}-${classId(id)}`

/** The `author` format: an inline class `author-<id>`, for well-formed ids only. */
class AuthorAttributor extends ClassAttributor {
  canAdd (node, value) {
    return typeof value === 'string' && AUTHOR_ID.test(value)
  }

  add (node, value) {
    if (!this.canAdd(node, value)) return false
    this.remove(node)
    node.classList.add(authorClass(value))
    return true
  }

  value (node) {
    const found = [...node.classList].find(name => name.startsWith(`${AUTHOR}-`))
    const id = found ? idOfClass(found.slice(AUTHOR.length + 1)) : ''
    return this.canAdd(node, id) ? id : ''
  }
}

export const AuthorFormat = new AuthorAttributor(AUTHOR, AUTHOR, { scope: Scope.INLINE })

/** Text that needs an author: anything but line breaks alone (they carry line formats). */
const needsAuthor = insert => typeof insert === 'string' && /[^\n]/.test(insert)

const opLength = op => {
  if (op.insert !== undefined) return typeof op.insert === 'string' ? op.insert.length : 1
  if (op.retain !== undefined) return typeof op.retain === 'number' ? op.retain : 1
  return 0
}

/**
 * Rewrite `ops` (a local Quill change) in place: every insert is `authorId`'s, and no retain
 * changes an author. Returns the ranges, in the document after the change, whose Quill format
 * now differs from the ops: `claimed` (inserts Quill gave another author or none) and
 * `kept` (retains that tried to change the author).
 * @param {Array<any>} ops
 * @param {string} authorId
 */
export const attributeOps = (ops, authorId) => {
  const claimed = []
  const kept = []
  let index = 0
  for (const op of ops) {
    const length = opLength(op)
    if (op.insert !== undefined && needsAuthor(op.insert)) {
      const attributes = op.attributes || {}
      if (attributes[AUTHOR] !== authorId) {
        op.attributes = { ...attributes, [AUTHOR]: authorId }
        claimed.push([index, length])
      }
    } else if (op.retain !== undefined && op.attributes && AUTHOR in op.attributes) {
      const { [AUTHOR]: _dropped, ...others } = op.attributes
      if (Object.keys(others).length > 0) op.attributes = others
      else delete op.attributes
      kept.push([index, length])
    }
    index += length
  }
  return { claimed, kept }
}

/** The author of every run of `ytext` within [index, index + length), as [index, length, id]. */
const authorsIn = (ytext, index, length) => {
  const runs = []
  let at = 0
  for (const op of ytext.toDelta()) {
    const size = opLength(op)
    const start = Math.max(at, index)
    const end = Math.min(at + size, index + length)
    if (start < end) runs.push([start, end - start, (op.attributes && op.attributes[AUTHOR]) || false])
    at += size
    if (at >= index + length) break
  }
  return runs
}

/**
 * Attribute this participant's edits. Call before the QuillBinding is made, then
 * `follow(binding)` right after.
 * @param {any} quill
 * @param {string} authorId
 */
export const attributeEdits = (quill, authorId) => {
  let pending = { claimed: [], kept: [] }
  quill.on('editor-change', (type, delta, _old, source) => {
    if (type !== 'text-change' || !LOCAL_SOURCES.has(source)) return
    pending = attributeOps(delta.ops, authorId)
  })
  return {
    /** @param {import('y-quill').QuillBinding} binding */
    follow (binding) {
      quill.on('editor-change', (type, _delta, _old, source) => {
        if (type !== 'text-change' || !LOCAL_SOURCES.has(source)) return
        const { claimed, kept } = pending
        pending = { claimed: [], kept: [] }
        for (const [index, length] of claimed) {
          quill.formatText(index, length, AUTHOR, authorId, binding)
        }
        for (const [index, length] of kept) {
          for (const [at, size, author] of authorsIn(binding.type, index, length)) {
            quill.formatText(at, size, AUTHOR, author, binding)
          }
        }
      })
    }
  }
}

/**
 * "Clear formatting" that leaves the author alone: inline formats of the selection, and the
 * line formats of the lines whose end is selected (like Quill's own removeFormat); with no
 * selection, the formats of what is typed next.
 * @param {any} quill
 * @param {string[]} formats the formats the editor knows
 */
export const clearFormatting = (quill, formats) => {
  const range = quill.getSelection()
  if (range == null) return
  const inline = {}
  const line = {}
  for (const name of formats) {
    if (name === AUTHOR) continue
    if (quill.scroll.query(name, Scope.BLOCK) != null) line[name] = false
    else if (quill.scroll.query(name, Scope.INLINE) != null) inline[name] = false
  }
  if (range.length === 0) {
    for (const name of Object.keys(quill.getFormat())) {
      if (name in inline) quill.format(name, false, 'user')
    }
    return
  }
  quill.formatText(range.index, range.length, inline, 'user')
  const lastBreak = quill.getText(range.index, range.length).lastIndexOf('\n')
  if (lastBreak >= 0) quill.formatLine(range.index, lastBreak + 1, line, 'user')
  quill.setSelection(range, 'silent')
}

/**
 * The toolbar's "clean" button and Ctrl/⌘+\ clear formatting but never the author.
 * @param {any} quill
 * @param {string[]} formats
 */
export const installClearFormatting = (quill, formats) => {
  const toolbar = quill.getModule('toolbar')
  if (toolbar) toolbar.addHandler('clean', () => clearFormatting(quill, formats))
  quill.keyboard.addBinding({ key: '\\', shortKey: true }, () => {
    clearFormatting(quill, formats)
    return false
  })
}
