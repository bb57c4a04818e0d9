// "Who is here": every awareness state that carries a `user`, one entry per client id.
// Names are other people's text: they are only ever set with textContent.

import { cleanColor, cleanName } from './participant.js'

const MAX_DOTS = 5

/**
 * The participants present, this client first, then by name.
 * @param {import('y-protocols/awareness').Awareness} awareness
 * @returns {Array<{ clientID: number, name: string, color: string, self: boolean }>}
 */
export const presentParticipants = awareness => {
  const self = awareness.clientID
  const seen = new Set()
  const people = []
  awareness.getStates().forEach((state, clientID) => {
    if (seen.has(clientID) || !state || typeof state.user !== 'object' || state.user === null) return
    seen.add(clientID)
    people.push({
      clientID,
      name: cleanName(state.user.name) || 'Anonymous',
      color: cleanColor(state.user.color),
      self: clientID === self
    })
  })
  people.sort((a, b) => (b.self - a.self) || a.name.localeCompare(b.name) || a.clientID - b.clientID)
  return people
}

const dot = color => {
  const span = document.createElement('span')
  span.className = 'dot'
  span.style.backgroundColor = color
  span.setAttribute('aria-hidden', 'true')
  return span
}

/**
 * Keep the "who is here" widget up to date.
 * @param {import('y-protocols/awareness').Awareness} awareness
 * @param {{ count: HTMLElement, dots: HTMLElement, list: HTMLElement }} els
 */
export const bindPeople = (awareness, els) => {
  let scheduled = false
  const render = () => {
    scheduled = false
    const people = presentParticipants(awareness)
    els.count.textContent = String(people.length)
    els.dots.replaceChildren(...people.slice(0, MAX_DOTS).map(p => dot(p.color)))
    els.list.replaceChildren(...people.map(p => {
      const li = document.createElement('li')
      li.dataset.clientId = String(p.clientID)
      const name = document.createElement('span')
      name.className = 'name'
      name.textContent = p.name
      li.append(dot(p.color), name)
      if (p.self) {
        const you = document.createElement('span')
        you.className = 'you'
        you.textContent = '(you)'
        li.append(' ', you)
      }
      return li
    }))
  }
  // cursor moves change awareness often; draw at most once per frame
  awareness.on('change', () => {
    if (!scheduled) {
      scheduled = true
      requestAnimationFrame(render)
    }
  })
  render()
}
