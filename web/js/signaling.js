// @ts-check
/**
 * The signaling connection (docs/protocol.md): one WebSocket carrying
 * versioned JSON messages. It
 * - adds `"v": 1` to everything it sends and drops what is not a version-1 object;
 * - sends the application `ping` every `keepalive_secs / 2` (browsers cannot see
 *   WebSocket pings) and treats 2 × `keepalive_secs` of silence as a dead link;
 * - reconnects after an unexpected close, with a growing delay, and sends
 *   `resume` with the resume token first, so the participant keeps its id
 *   within the server's grace period (§5.8). Close code 4001 (another
 *   connection took over) is final.
 * Timers and the socket are injected so that node:test can drive it.
 */

/** @typedef {import('../types/wire.js').ServerMessage} ServerMessage */
/** @typedef {import('../types/wire.js').ClientMessage} ClientMessage */
/** @typedef {import('./session-state.js').ConnectionStatus} ConnectionStatus */

/**
 * The part of the browser WebSocket this module uses.
 * @typedef {object} SocketLike
 * @property {number} readyState
 * @property {(data: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {((ev: unknown) => void) | null} onopen
 * @property {((ev: { data: unknown }) => void) | null} onmessage
 * @property {((ev: { code: number }) => void) | null} onclose
 * @property {((ev: unknown) => void) | null} onerror
 */

/**
 * @typedef {object} Clock
 * @property {() => number} now
 * @property {(fn: () => void, ms: number) => unknown} setTimeout
 * @property {(handle: unknown) => void} clearTimeout
 * @property {(fn: () => void, ms: number) => unknown} setInterval
 * @property {(handle: unknown) => void} clearInterval
 */

/**
 * @typedef {object} SignalingOptions
 * @property {string} url `ws://host/ws` or `wss://host/ws`
 * @property {(msg: ServerMessage) => void} onMessage
 * @property {(status: ConnectionStatus) => void} onStatus
 * @property {(url: string) => SocketLike} [createSocket]
 * @property {Clock} [clock]
 * @property {number} [maxRetryDelayMs]
 */

/** Close code the server uses when another connection resumed this participant. */
export const CLOSE_TAKEN_OVER = 4001;
const OPEN = 1;
const FIRST_RETRY_MS = 250;

/** @type {Clock} */
const realClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(/** @type {number} */ (h)),
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (h) => globalThis.clearInterval(/** @type {number} */ (h)),
};

/**
 * The WebSocket URL of the page's own server.
 * @param {{ protocol: string, host: string }} location
 */
export function signalingUrl(location) {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}

/**
 * Decodes one text frame into a server message, or null when it is not a
 * version-1 JSON object with a string `type`.
 * @param {unknown} data
 * @returns {ServerMessage | null}
 */
export function decodeServerMessage(data) {
  if (typeof data !== "string") return null;
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  if (value.v !== 1 || typeof value.type !== "string") return null;
  return /** @type {ServerMessage} */ (value);
}

export class SignalingClient {
  /** @param {SignalingOptions} opts */
  constructor(opts) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.createSocket =
      opts.createSocket ?? ((/** @type {string} */ url) => /** @type {SocketLike} */ (/** @type {unknown} */ (new WebSocket(url))));
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 5000;
    /** @type {SocketLike | null} */
    this.socket = null;
    /** True once `hello` arrived on the current socket: sends go out directly. */
    this.ready = false;
    /** @type {ClientMessage[]} sent before the socket was ready */
    this.queue = [];
    /** @type {string | null} */
    this.resumeToken = null;
    this.stopped = false;
    this.retries = 0;
    this.nonce = 0;
    this.lastHeard = 0;
    /** @type {unknown} */
    this.keepalive = null;
    /** @type {unknown} */
    this.retryTimer = null;
  }

  /** Opens the connection (once; reconnects happen by themselves). */
  connect() {
    this.stopped = false;
    this.open();
  }

  /**
   * The token `resume` uses after a reconnect; null when not in a session.
   * @param {string | null} token
   */
  setResumeToken(token) {
    this.resumeToken = token;
  }

  /**
   * Sends a message now, or as soon as the connection is ready.
   * @param {ClientMessage} msg
   */
  send(msg) {
    if (this.ready && this.socket) this.write(msg);
    else this.queue.push(msg);
  }

  /** Closes for good: no reconnect. */
  close() {
    this.stopped = true;
    this.stopTimers();
    const s = this.socket;
    this.socket = null;
    this.ready = false;
    if (s) s.close(1000, "bye");
    this.opts.onStatus("closed");
  }

  /** @private */
  open() {
    this.ready = false;
    this.opts.onStatus(this.retries === 0 ? "connecting" : "reconnecting");
    const socket = this.createSocket(this.opts.url);
    this.socket = socket;
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      this.lastHeard = this.clock.now();
      const msg = decodeServerMessage(ev.data);
      if (!msg) return;
      if (msg.type === "hello") this.onHello(msg.keepalive_secs);
      if (msg.type === "pong") return;
      this.opts.onMessage(msg);
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.onDrop(ev.code);
    };
    socket.onerror = () => {};
    socket.onopen = () => {
      this.lastHeard = this.clock.now();
    };
  }

  /** @private @param {number} keepaliveSecs */
  onHello(keepaliveSecs) {
    const wasRetry = this.retries > 0;
    this.retries = 0;
    if (wasRetry && this.resumeToken) this.write({ type: "resume", resume_token: this.resumeToken });
    this.ready = true;
    const pending = this.queue;
    this.queue = [];
    for (const m of pending) this.write(m);
    this.opts.onStatus("online");
    const secs = Math.max(1, keepaliveSecs);
    this.stopTimers();
    this.keepalive = this.clock.setInterval(() => {
      if (this.clock.now() - this.lastHeard > 2 * secs * 1000) {
        // Nothing (not even a pong) for two intervals: the link is dead even if the socket does not know yet.
        const s = this.socket;
        this.onDrop(1006);
        if (s) s.close(4000, "keepalive timeout");
        return;
      }
      this.write({ type: "ping", nonce: ++this.nonce });
    }, (secs * 1000) / 2);
  }

  /** @private @param {number} code */
  onDrop(code) {
    this.stopTimers();
    this.socket = null;
    this.ready = false;
    if (this.stopped) return;
    if (code === CLOSE_TAKEN_OVER) {
      this.stopped = true;
      this.opts.onStatus("closed");
      return;
    }
    this.retries += 1;
    this.opts.onStatus("reconnecting");
    const delay = Math.min(this.maxRetryDelayMs, FIRST_RETRY_MS * 2 ** (this.retries - 1));
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  /** @private @param {ClientMessage} msg */
  write(msg) {
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify({ v: 1, ...msg }));
  }

  /** @private */
  stopTimers() {
    if (this.keepalive !== null) this.clock.clearInterval(this.keepalive);
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    this.keepalive = null;
    this.retryTimer = null;
  }
}
