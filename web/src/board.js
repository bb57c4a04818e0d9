// summitpad: the summit board. The page is complete without this script; with it, "now" and
// "next", how many are in each pad and when each was last edited stay current while the board
// is open, from <main data-activity-url> (JSON: {now, states, here, edited}).

const REFRESH_MS = 20000

const board = /** @type {HTMLElement | null} */ (document.querySelector('main.board[data-activity-url]'))

const LABELS = { now: 'Now', next: 'Next' }

/** Show one day's activity in the grid's cells. */
function show (activity) {
  const clock = document.getElementById('board-now')
  if (clock && activity.now) clock.textContent = activity.now
  for (const cell of board.querySelectorAll('td.session[data-session]')) {
    const id = /** @type {HTMLElement} */ (cell).dataset.session
    const state = activity.states[id] || ''
    cell.classList.toggle('now', state === 'now')
    cell.classList.toggle('next', state === 'next')
    const badge = cell.querySelector('.badge')
    if (badge) {
      badge.className = `badge ${state}`.trim()
      badge.textContent = LABELS[state] || ''
    }
    const here = cell.querySelector('.here')
    if (here) here.textContent = activity.here[id] ? `${activity.here[id]} here` : ''
    const edited = cell.querySelector('.edited')
    if (edited) edited.textContent = activity.edited[id] || ''
  }
}

async function refresh () {
  if (document.hidden) return
  try {
    const response = await fetch(board.dataset.activityUrl, {
      headers: { Accept: 'application/json' },
      cache: 'no-store'
    })
    if (response.ok) show(await response.json())
  } catch {
    // offline for a moment: the next round tries again
  }
}

if (board) {
  setInterval(refresh, REFRESH_MS)
  document.addEventListener('visibilitychange', refresh)
}
