// @ts-check
/**
 * Pure text helpers shared by the CSR dashboard and the customer pages:
 * session numbers, invite links, and the invitation texts (SES-1, SES-2, SES-3).
 * No DOM here, so that node:test can run them.
 */

/** A session number has nine digits, 100000000-999999999 (docs/protocol.md §2). */
const NUMBER_RE = /^[1-9][0-9]{8}$/;

/**
 * Parses what a customer typed as a session number: digits with optional
 * spaces or dashes between them, like the server accepts.
 * @param {string} input
 * @returns {string | null} the nine digits, or null when it is not a session number
 */
export function parseSessionNumber(input) {
  const trimmed = input.trim();
  if (!/^[0-9][0-9 -]*$/.test(trimmed)) return null;
  const digits = trimmed.replace(/[ -]/g, "");
  return NUMBER_RE.test(digits) ? digits : null;
}

/**
 * Groups a session number for reading out: `123 456 789`.
 * @param {string} digits
 */
export function groupNumber(digits) {
  return digits.replace(/^(\d{3})(\d{3})(\d{3})$/, "$1 $2 $3");
}

/** Invite tokens: 16-64 characters of `A-Z a-z 0-9 - _ . ~ + / =`. */
const INVITE_RE = /^[A-Za-z0-9\-_.~+/=]{16,64}$/;

/**
 * Reads the session number and invite token from the join page's address:
 * `/join/{number}#invite={token}` (the token sits in the fragment, which the
 * browser never sends to the server).
 * @param {string} pathname
 * @param {string} hash
 * @returns {{ number: string | null, inviteToken: string | null }}
 */
export function parseJoinLocation(pathname, hash) {
  const m = /^\/join\/([^/]+)\/?$/.exec(pathname);
  const number = m ? parseSessionNumber(decodeURIComponent(m[1])) : null;
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const token = params.get("invite");
  return { number, inviteToken: token !== null && INVITE_RE.test(token) ? token : null };
}

/**
 * A `mailto:` link that opens the CSR's own e-mail program with a prepared
 * message (SES-2, "use my own e-mail program"). RFC 6068: the fields are
 * percent-encoded, line breaks as %0D%0A.
 * @param {{ to?: string, subject: string, body: string }} mail
 */
export function mailtoLink(mail) {
  const enc = (/** @type {string} */ s) => encodeURIComponent(s.replace(/\r?\n/g, "\r\n"));
  return `mailto:${mail.to ? encodeURIComponent(mail.to) : ""}?subject=${enc(mail.subject)}&body=${enc(mail.body)}`;
}

/**
 * The site address to read out on the phone: the origin without the scheme.
 * @param {string} origin e.g. `https://support.example.com`
 */
export function siteAddress(origin) {
  return origin.replace(/^https?:\/\//, "").replace(/\/$/, "");
}

/**
 * Fills `{name}` placeholders. Unknown placeholders stay as they are.
 * @param {string} template
 * @param {Record<string, string | number>} [params]
 */
export function fill(template, params = {}) {
  return template.replace(/\{([a-z_]+)\}/g, (whole, key) =>
    Object.prototype.hasOwnProperty.call(params, key) ? String(params[key]) : whole,
  );
}

/**
 * A byte count for people, in decimal units (kB = 1000 bytes), with the
 * catalog's unit names (`size.*` keys: "{n} MB", "{n} Mo", ...).
 * @param {number} bytes
 * @param {(key: 'size.b' | 'size.kb' | 'size.mb' | 'size.gb', params: Record<string, string>) => string} t
 */
export function formatBytes(bytes, t) {
  const units = /** @type {const} */ (["size.b", "size.kb", "size.mb", "size.gb"]);
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  const digits = i === 0 || n >= 100 ? 0 : 1;
  return t(units[i], { n: n.toFixed(digits) });
}

/**
 * A duration for people: `42 s`, `3 min 5 s`, `1 h 2 min`.
 * @param {number} secs
 */
export function formatDuration(secs) {
  const s = Math.max(0, Math.ceil(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
