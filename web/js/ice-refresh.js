// @ts-check
/**
 * When to ask the server for fresh TURN credentials (NET-2), as a pure
 * function of the ICE server list and the clock. The server mints them per
 * participant in the TURN REST form, username `<expiry unix seconds>:<participant id>`,
 * valid 60 s to 24 h (10 minutes by default; docs/protocol.md,
 * `session_created`). The runtime sends `refresh_ice_servers` after
 * `refreshDelayMs` and hands the `ice_servers` reply to its peer connections.
 */

/** @typedef {import('../types/wire.js').IceServer} IceServer */

/** Renew this long before the credential expires... */
export const REFRESH_MARGIN_MS = 60_000;
/** ...but never sooner than this: a clock running ahead of the server's would otherwise ask again at once, forever. */
export const MIN_REFRESH_DELAY_MS = 15_000;
/** The longest delay `setTimeout` takes (2^31 − 1 ms); a larger one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How long to wait before `refresh_ice_servers`: a minute before the
 * earliest TURN credential expires, or at half of the time left when that
 * is later (short lifetimes); null when the list has no TURN server with an
 * expiring credential (nothing to renew).
 * @param {ReadonlyArray<IceServer>} iceServers
 * @param {number} now Unix ms
 * @returns {number | null} ms
 */
export function refreshDelayMs(iceServers, now) {
  const expiry = turnExpiry(iceServers);
  if (expiry === null) return null;
  const left = expiry - now;
  const delay = Math.max(left - REFRESH_MARGIN_MS, left / 2);
  return Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_DELAY_MS, Math.round(delay)));
}

/**
 * The earliest expiry of the TURN credentials in the list, Unix ms; null
 * without one. A `turn:`/`turns:` entry whose username does not start with
 * `<digits>:` (a static credential from the operator) does not expire.
 * @param {ReadonlyArray<IceServer>} iceServers
 * @returns {number | null}
 */
export function turnExpiry(iceServers) {
  /** @type {number | null} */
  let earliest = null;
  for (const server of iceServers) {
    if (!server.urls.some((u) => /^turns?:/i.test(u))) continue;
    const m = /^(\d{1,15}):/.exec(server.username ?? "");
    if (!m) continue;
    const at = Number(m[1]) * 1000;
    if (earliest === null || at < earliest) earliest = at;
  }
  return earliest;
}
