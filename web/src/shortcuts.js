// Markdown-style shortcuts typed at the start of a line: "# " → heading 1, "- " → bullet list,
// "[ ] " → check list, ... They are Quill edits (source "user"), so they reach the other
// participants as ordinary CRDT updates, and one undo gives back the typed marker.

/** Line prefix (the text before the caret) → the line format it stands for. */
const MARKERS = new Map([
  ['#', ['header', 1]],
  ['##', ['header', 2]],
  ['###', ['header', 3]],
  ['-', ['list', 'bullet']],
  ['*', ['list', 'bullet']],
  ['1.', ['list', 'ordered']],
  ['[]', ['list', 'unchecked']],
  ['[ ]', ['list', 'unchecked']],
  ['[x]', ['list', 'checked']],
  ['[X]', ['list', 'checked']]
])

export const MARKER_PREFIX = /^(#{1,3}|[-*]|1\.|\[ ?\]|\[[xX]\])$/

/** The line format for a marker, or null. */
export const markerFormat = marker => MARKERS.get(marker) || null

const USER = 'user'

/**
 * Turn the line that starts at `lineStart` and begins with `marker` + one space into the
 * marker's format: the marker and the space are deleted and the line is formatted, as one
 * undo step (undo brings back the typed marker).
 */
const applyMarker = (quill, lineStart, marker) => {
  const format = markerFormat(marker)
  if (format === null) return false
  quill.deleteText(lineStart, marker.length + 1, USER)
  quill.formatLine(lineStart, 1, format[0], format[1], USER)
  quill.setSelection(lineStart, 0, USER)
  // what is typed next is its own undo step, so that undo first takes back the text, then the format
  quill.history.cutoff()
  return true
}

let applying = false

/**
 * Keyboard bindings (for `modules.keyboard.bindings`). The binding is named like Quill's own
 * "list autofill" so that it replaces it: one implementation handles every marker.
 */
export const markdownBindings = () => ({
  'list autofill': {
    key: ' ',
    shiftKey: null,
    collapsed: true,
    format: { 'code-block': false, blockquote: false },
    prefix: MARKER_PREFIX,
    handler (range, context) {
      const quill = this.quill
      const marker = context.prefix
      const [, offset] = quill.getLine(range.index)
      if (offset !== marker.length) return true
      const lineStart = range.index - offset
      applying = true
      try {
        // Insert the space first and cut the history there: undo then restores "## ".
        quill.insertText(range.index, ' ', USER)
        quill.history.cutoff()
        applyMarker(quill, lineStart, marker)
      } finally {
        applying = false
      }
      return false
    }
  }
})

/**
 * Touch keyboards often send no usable keydown for the space (Android reports "Unidentified"
 * while composing), so the binding above never runs there. Catch the same case after the fact:
 * a user edit that only inserted one space right after a marker at the start of a line.
 */
export const installShortcutFallback = quill => {
  quill.on('text-change', (delta, _old, source) => {
    if (source !== USER || applying) return
    let index = 0
    let inserted = null
    for (const op of delta.ops) {
      if (typeof op.retain === 'number') {
        index += op.retain
      } else if (typeof op.insert === 'string') {
        if (inserted !== null) return
        inserted = { index, text: op.insert }
        index += op.insert.length
      } else {
        return
      }
    }
    if (inserted === null || (inserted.text !== ' ' && inserted.text !== '\u00a0')) return
    const spaceIndex = inserted.index
    const [line, offset] = quill.getLine(spaceIndex)
    if (line == null || offset < 1 || offset > 3) return
    const formats = quill.getFormat(spaceIndex, 0)
    if (formats['code-block']) return
    const lineStart = spaceIndex - offset
    const marker = quill.getText(lineStart, offset)
    if (!MARKER_PREFIX.test(marker)) return
    // Let the editor finish handling the native input before changing the line.
    setTimeout(() => {
      const [sameLine, sameOffset] = quill.getLine(lineStart)
      if (sameLine !== line || sameOffset !== 0) return
      const text = quill.getText(lineStart, marker.length + 1)
      if (text !== marker + ' ' && text !== marker + '\u00a0') return
      applying = true
      try {
        quill.history.cutoff()
        applyMarker(quill, lineStart, marker)
      } finally {
        applying = false
      }
    }, 0)
  })
}
