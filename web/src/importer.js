// Import into the pad: the "Import" button and its dialog (templates/_import.html).
//
// The dialog posts its form (a file, or pasted text with its format; "at the cursor" or
// "replace the whole text") with fetch to the form's action, with the CSRF token of the page,
// and the Quill index of the last cursor position. The server makes the edit through the live
// pad, so it arrives here like anybody's edit; a refusal (too large, read-only, not UTF-8, ...)
// is shown in the dialog as the server words it.

/** The Quill index of the cursor: where it was last in the editor, else the end of the text. */
const cursorTracker = quill => {
  let last = null
  quill.on('selection-change', range => { if (range) last = range.index })
  return () => (last === null ? Math.max(quill.getLength() - 1, 0) : last)
}

/** The message of a refused import: the server's JSON error, else the HTTP status. */
const errorText = async response => {
  try {
    const { error } = await response.json()
    const lines = [error.detail || error.title, ...(error.problems || [])].filter(Boolean)
    if (lines.length) return lines.join('\n')
  } catch (_) { /* not JSON: a proxy's page, say */ }
  return `The import was refused (${response.status} ${response.statusText}).`
}

const mib = bytes => `${Math.round(bytes / 1048576)} MiB`

/**
 * Wire the import dialog, if the page has one (a read-only link's page has none).
 * @param {any} quill
 */
export function setupImport (quill) {
  const openButton = document.getElementById('import-open')
  const dialog = /** @type {HTMLDialogElement | null} */ (document.getElementById('import-dialog'))
  const form = /** @type {HTMLFormElement | null} */ (document.getElementById('import-form'))
  if (!openButton || !dialog || !form) return
  const error = /** @type {HTMLElement} */ (document.getElementById('import-error'))
  const submit = /** @type {HTMLButtonElement} */ (document.getElementById('import-submit'))
  const fileInput = /** @type {HTMLInputElement} */ (form.elements.namedItem('file'))
  const textInput = /** @type {HTMLTextAreaElement} */ (form.elements.namedItem('text'))
  const maxBytes = Number(form.dataset.maxBytes) || 1048576
  const cursor = cursorTracker(quill)
  let index = 0

  const showError = message => {
    error.textContent = message
    error.hidden = !message
  }

  openButton.addEventListener('click', () => {
    index = cursor()
    showError('')
    dialog.showModal()
  })
  document.getElementById('import-cancel').addEventListener('click', () => dialog.close())

  form.addEventListener('submit', async event => {
    event.preventDefault()
    const file = fileInput.files && fileInput.files[0]
    const size = file ? file.size : new TextEncoder().encode(textInput.value).length
    if (!file && !textInput.value.trim()) {
      showError('Choose a .txt, .md or .html file, or paste some text.')
      return
    }
    if (size > maxBytes) {
      showError(`That is ${(size / 1048576).toFixed(1)} MiB: at most ${mib(maxBytes)} can be imported at once.`)
      return
    }
    const data = new FormData(form)
    const replace = data.get('mode') === 'replace'
    if (replace && !window.confirm('Replace the whole text of the pad with this import? Everyone sees the change at once.')) {
      return
    }
    data.set('index', String(index))
    submit.disabled = true
    showError('')
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        body: data,
        credentials: 'same-origin',
        headers: { Accept: 'application/json', 'X-CSRF-Token': String(data.get('csrf') || '') }
      })
      if (!response.ok) {
        showError(await errorText(response))
        return
      }
      const { imported } = await response.json()
      dialog.close()
      form.reset()
      const end = Math.min(imported.index + imported.length, Math.max(quill.getLength() - 1, 0))
      if (quill.isEnabled()) quill.setSelection(end, 0)
    } catch (_) {
      showError('The import did not reach the server: check the connection and try again.')
    } finally {
      submit.disabled = false
    }
  })
}
