// Save the pad's current revision under a label: the star popover of the pad and session pages
// (templates/_revisions.html). The form works without JavaScript (the server answers with a
// redirect back); with it, the form is posted with fetch and the answer shown in the popover.
// The server records the name this participant writes under; the label is shown as text only.

/** The message of a refused save: the server's JSON error, else the HTTP status. */
const errorText = async response => {
  try {
    const { error } = await response.json()
    if (error && (error.detail || error.title)) return error.detail || error.title
  } catch (_) { /* not JSON: a proxy's page, say */ }
  return `The revision was not saved (${response.status} ${response.statusText}).`
}

/** Wire the "Save revision" popover, if the page has one (read-only links' pages have none). */
export function setupRevisions () {
  const form = /** @type {HTMLFormElement | null} */ (document.getElementById('save-revision-form'))
  if (!form) return
  const details = /** @type {HTMLDetailsElement | null} */ (form.closest('details'))
  const note = /** @type {HTMLElement} */ (document.getElementById('save-revision-note'))
  const label = /** @type {HTMLInputElement} */ (form.elements.namedItem('label'))
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'))

  const show = (message, failed) => {
    note.textContent = message
    note.dataset.state = failed ? 'error' : 'ok'
    note.hidden = !message
  }

  if (details) {
    details.addEventListener('toggle', () => {
      if (!details.open) return
      show('', false)
      label.focus({ preventScroll: true })
    })
    document.addEventListener('pointerdown', event => {
      if (details.open && !details.contains(/** @type {Node} */ (event.target))) details.open = false
    })
    details.addEventListener('keydown', event => {
      if (event.key === 'Escape' && details.open) {
        details.open = false
        details.querySelector('summary').focus()
      }
    })
  }

  form.addEventListener('submit', async event => {
    event.preventDefault()
    if (!label.value.trim()) {
      show('Give the revision a label.', true)
      return
    }
    submit.disabled = true
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        body: new URLSearchParams(/** @type {any} */ (new FormData(form))),
        headers: { Accept: 'application/json' },
        credentials: 'same-origin'
      })
      if (!response.ok) {
        show(await errorText(response), true)
        return
      }
      const { saved } = await response.json()
      show(`Saved as revision ${saved.rev}: “${saved.label}”.`, false)
      label.value = ''
    } catch (_) {
      show('The revision was not saved: the server cannot be reached.', true)
    } finally {
      submit.disabled = false
    }
  })
}
