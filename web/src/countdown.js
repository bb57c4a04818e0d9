// The countdown to the end of a slot, on the server's time.
//
// The page carries the server's "now" (data-now, ISO 8601). The offset between it and this
// browser's clock is taken once at load; every later "now" is Date.now() + offset, so a projector
// whose own clock is wrong still counts down to the schedule's minute (and a test that moves the
// page's clock moves the countdown).

/** From this much time left the countdown turns amber. */
export const AMBER_MS = 5 * 60 * 1000

/**
 * A function that returns the server's current time in ms since the epoch.
 * @param {string | undefined} serverNowIso the server's time when it rendered the page
 */
export const serverClock = serverNowIso => {
  const server = Date.parse(serverNowIso || '')
  const offset = Number.isFinite(server) ? server - Date.now() : 0
  return () => Date.now() + offset
}

const pad2 = n => String(n).padStart(2, '0')

/** A number of seconds as m:ss, or h:mm:ss from an hour on. */
export const formatSeconds = seconds => {
  const total = Math.max(0, Math.round(seconds))
  const hours = Math.floor(total / 3600)
  const minutes = Math.floor((total % 3600) / 60)
  const rest = total % 60
  return hours > 0 ? `${hours}:${pad2(minutes)}:${pad2(rest)}` : `${minutes}:${pad2(rest)}`
}

/**
 * What the countdown shows at `now`: `state` is "normal", "amber" (at most 5 minutes left) or
 * "over" (the slot has ended); `text` is "12:34 left", "+1:05 over", or "starts in 3:00" before
 * the start. Times are counted in whole seconds, rounded, so the colour changes when the text
 * says so: "5:00 left" is amber, "0:00" is over.
 * @param {number} start ms since the epoch (NaN: unknown)
 * @param {number} end ms since the epoch
 * @param {number} now ms since the epoch
 * @returns {{ state: 'normal' | 'amber' | 'over', text: string }}
 */
export const countdown = (start, end, now) => {
  const toStart = Math.round((start - now) / 1000)
  if (toStart > 0) return { state: 'normal', text: `starts in ${formatSeconds(toStart)}` }
  const left = Math.round((end - now) / 1000)
  if (left <= 0) return { state: 'over', text: `+${formatSeconds(-left)} over` }
  return { state: left * 1000 <= AMBER_MS ? 'amber' : 'normal', text: `${formatSeconds(left)} left` }
}
