// The participant: this browser's display name and colour, remembered in localStorage and
// announced to the other participants through awareness (`user.name`, `user.color`).

export const NAME_MAX = 40

// Ten colours that all keep a contrast of at least 4.5:1 against white, so that a name drawn
// in white on the colour (the remote cursor's flag) stays readable.
export const PALETTE = [
  { color: '#b42318', label: 'red' },
  { color: '#c4320a', label: 'orange' },
  { color: '#a15c07', label: 'amber' },
  { color: '#2e7d32', label: 'green' },
  { color: '#0f766e', label: 'teal' },
  { color: '#0369a1', label: 'sky blue' },
  { color: '#1d4ed8', label: 'blue' },
  { color: '#6d28d9', label: 'violet' },
  { color: '#a21caf', label: 'magenta' },
  { color: '#be185d', label: 'pink' }
]

const STORAGE_KEY = 'summitpad.participant'
const HEX_COLOR = /^#[0-9a-f]{6}$/i
const FALLBACK_COLOR = '#475467'

/** Random integer in [0, n), from the crypto source (available without a secure context). */
const randomInt = n => {
  const buf = new Uint32Array(1)
  crypto.getRandomValues(buf)
  return buf[0] % n
}

const randomId = () => {
  const buf = new Uint8Array(12)
  crypto.getRandomValues(buf)
  return Array.from(buf, b => b.toString(16).padStart(2, '0')).join('')
}

/**
 * Normalise a display name: collapse whitespace, drop control characters, cap the length.
 * Returns '' for a name with nothing visible in it.
 * @param {unknown} name
 */
export const cleanName = name => {
  if (typeof name !== 'string') return ''
  // eslint-disable-next-line no-control-regex
  const flat = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim()
  // cap by code points so that a surrogate pair is never cut in half
  return Array.from(flat).slice(0, NAME_MAX).join('').trim()
}

/**
 * A colour that is safe to use: `#rrggbb` only, anything else becomes a neutral grey.
 * @param {unknown} color
 */
export const cleanColor = color =>
  typeof color === 'string' && HEX_COLOR.test(color) ? color.toLowerCase() : FALLBACK_COLOR

const channelToLinear = c => {
  const s = c / 255
  return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
}

const luminance = rgb => 0.2126 * channelToLinear(rgb[0]) + 0.7152 * channelToLinear(rgb[1]) + 0.0722 * channelToLinear(rgb[2])

const parseHex = hex => {
  const n = parseInt(hex.slice(1), 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255]
}

const toHex = rgb => '#' + rgb.map(c => Math.round(c).toString(16).padStart(2, '0')).join('')

/** Contrast ratio of a colour against white (WCAG definition). */
export const contrastWithWhite = hex => 1.05 / (luminance(parseHex(hex)) + 0.05)

/**
 * Darken a freely picked colour until white text on it has a contrast of at least 4.5:1,
 * keeping its hue. Colours that already qualify are returned unchanged.
 * @param {string} hex
 */
export const readableColor = hex => {
  let rgb = parseHex(cleanColor(hex))
  for (let i = 0; i < 64 && contrastWithWhite(toHex(rgb)) < 4.5; i++) {
    rgb = rgb.map(c => c * 0.94)
  }
  return toHex(rgb)
}

export const randomGuestName = () => `Guest ${1000 + randomInt(9000)}`

/**
 * Load the remembered participant, or make up a new one.
 * @returns {{ id: string, name: string, color: string, confirmed: boolean }}
 */
export const loadParticipant = () => {
  let stored = null
  try {
    stored = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || 'null')
  } catch (_) {
    stored = null
  }
  if (stored && typeof stored === 'object') {
    const name = cleanName(stored.name)
    if (name) {
      return {
        id: typeof stored.id === 'string' && /^[0-9a-f]{8,64}$/.test(stored.id) ? stored.id : randomId(),
        name,
        color: cleanColor(stored.color),
        confirmed: stored.confirmed !== false
      }
    }
  }
  return {
    id: randomId(),
    name: randomGuestName(),
    color: PALETTE[randomInt(PALETTE.length)].color,
    confirmed: false
  }
}

/**
 * Remember the participant. Storage may be unavailable (private mode, disabled): then the
 * choice lasts for this page only.
 * `confirmed` is false until the person has closed the name form once: until then the form
 * opens again on the next visit, with the same (made-up) name.
 * @param {{ id: string, name: string, color: string, confirmed: boolean }} participant
 */
export const saveParticipant = participant => {
  try {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify({
      id: participant.id,
      name: participant.name,
      color: participant.color,
      confirmed: participant.confirmed
    }))
  } catch (_) {
    // nothing to do: the participant is still used for this page
  }
}
