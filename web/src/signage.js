// Room signage: the projector of a room shows whatever session runs there now. It reads the room's
// feed (GET <room>/now.json: the room's sessions from now on) at load and every minute, and
// switches at each slot boundary by its own clock, without a reload.

export const FEED_EVERY_MS = 60 * 1000

/**
 * @typedef {object} FeedSession
 * @property {string} id
 * @property {string} title
 * @property {string} start ISO 8601
 * @property {string} end
 * @property {string} start_local HH:MM in the summit's time zone
 * @property {string} end_local
 * @property {string} day_local "Tue 10 Jun"
 * @property {string} moderator
 * @property {{ id: string, name: string, colour: string } | null} track
 * @property {string} pad_id
 * @property {string} url
 * @property {string} join_url
 * @property {string} join_label
 * @property {string} qr_svg
 * @property {boolean} read_only
 */

/**
 * The sessions of a feed with their times parsed, in order of start; malformed entries dropped.
 * @param {any} feed
 * @returns {Array<FeedSession & { startMs: number, endMs: number }>}
 */
export const feedSessions = feed => {
  const sessions = feed && Array.isArray(feed.sessions) ? feed.sessions : []
  return sessions
    .map(s => ({ ...s, startMs: Date.parse(s && s.start), endMs: Date.parse(s && s.end) }))
    .filter(s => typeof s.id === 'string' && typeof s.pad_id === 'string' &&
      Number.isFinite(s.startMs) && Number.isFinite(s.endMs))
    .sort((a, b) => a.startMs - b.startMs)
}

/** The session running at `now` (the latest to start if several), or null. */
export const sessionAt = (sessions, now) => {
  let found = null
  for (const s of sessions) {
    if (s.startMs <= now && now < s.endMs && (found === null || s.startMs >= found.startMs)) found = s
  }
  return found
}

/** The next session to start after `now`, or null. */
export const nextAfter = (sessions, now) => sessions.find(s => s.startMs > now) || null

/**
 * The calendar day of a time in a time zone, as YYYY-MM-DD (to tell "today" from later days).
 * @param {number} ms
 * @param {string} timeZone IANA name
 */
export const dayIn = (ms, timeZone) => {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
      .format(new Date(ms))
  } catch (_) {
    return new Date(ms).toISOString().slice(0, 10)
  }
}

/**
 * Keep the room's feed: `onFeed(feed)` after every successful read. Failed reads keep the last
 * feed (the signage carries on with what it knows) and are tried again at the next minute.
 * @param {string} url
 * @param {(feed: any) => void} onFeed
 */
export const pollFeed = (url, onFeed) => {
  let stopped = false
  const read = async () => {
    try {
      const response = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' })
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
      const feed = await response.json()
      if (!stopped) onFeed(feed)
    } catch (err) {
      console.warn('summitpad: could not read the room feed', err)
    }
  }
  read()
  const timer = setInterval(read, FEED_EVERY_MS)
  return { refresh: read, stop: () => { stopped = true; clearInterval(timer) } }
}
