// @ts-check
/**
 * The client's view of a session as a pure reducer: `reduce(state, action)`
 * returns the next state and never touches the network, the DOM or the clock.
 * Server messages (docs/protocol.md §4) and local events (chat, leave, the
 * connection status) are the actions; pages render the state.
 */

/** @typedef {import('../types/wire.js').ServerMessage} ServerMessage */
/** @typedef {import('../types/wire.js').ParticipantInfo} ParticipantInfo */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */
/** @typedef {import('../types/wire.js').SessionInfo} SessionInfo */
/** @typedef {import('../types/wire.js').IceServer} IceServer */
/** @typedef {import('../types/wire.js').Role} Role */
/** @typedef {import('../types/wire.js').EndReason} EndReason */
/** @typedef {import('../types/wire.js').ErrorCode} ErrorCode */
/** @typedef {import('../types/wire.js').ChatMessage} ChatMessage */
/** @typedef {import('./network-path.js').ReportedPath} ReportedPath */

/**
 * Where this client stands:
 * - `idle`: not in a session (before create/join, or after an error);
 * - `lobby`: a customer waiting to be admitted;
 * - `in_session`: admitted (CSR or customer);
 * - `refused`, `ended`, `left`: terminal until the next create/join.
 * @typedef {'idle' | 'lobby' | 'in_session' | 'refused' | 'ended' | 'left'} Phase
 */

/** @typedef {'connecting' | 'online' | 'reconnecting' | 'closed'} ConnectionStatus */

/**
 * The audio call (TOOL-2), from this participant's side: everyone who joins
 * is asked (`prompt`); then `joining` while the microphone is requested.
 * @typedef {'prompt' | 'joining' | 'joined' | 'declined' | 'failed'} AudioStatus
 */

/**
 * @typedef {object} ChatEntry
 * @property {ParticipantId} from
 * @property {string} fromName the sender's name when the line arrived
 * @property {string} text
 * @property {ParticipantId[]} to empty: everyone
 * @property {number} sentAt Unix ms, the sender's clock
 * @property {boolean} mine
 */

/**
 * @typedef {object} SessionState
 * @property {Phase} phase
 * @property {ConnectionStatus} connection
 * @property {ParticipantId | null} selfId
 * @property {Role | null} role
 * @property {SessionInfo | null} session
 * @property {string | null} sessionNumber known from `lobby` before `joined`
 * @property {string | null} inviteLink
 * @property {string | null} resumeToken
 * @property {IceServer[]} iceServers
 * @property {ParticipantInfo[]} participants everyone the server lists, lobby included (CSRs only)
 * @property {EndReason | null} endReason
 * @property {{ code: ErrorCode, inReplyTo: string | null } | null} lastError
 * @property {ChatEntry[]} chat
 * @property {AudioStatus} audio
 * @property {{ email_invitations: boolean } | null} features what the server offers (`hello`), kept across sessions
 * @property {string | null} organisation the organisation that runs the site (`hello`), kept across sessions
 * @property {number | null} notesSavedAt when the server last confirmed our notes (`notes_saved`), Unix ms
 * @property {ReportedPath[]} paths the latest `path_reported` per (from, with) (CSRs only)
 */

/**
 * @typedef {{ type: 'server', msg: ServerMessage }
 *   | { type: 'connection', status: ConnectionStatus }
 *   | { type: 'chat_received', from: ParticipantId, msg: ChatMessage }
 *   | { type: 'chat_sent', msg: ChatMessage }
 *   | { type: 'audio', status: AudioStatus }
 *   | { type: 'left' }
 *   | { type: 'dismiss_error' }} Action
 */

/** Most chat lines kept in memory (older ones are dropped from the view). */
export const CHAT_HISTORY_LIMIT = 500;
/** Messages the client sends by itself in the background: the user has nothing to do about an error in reply to one. */
const BACKGROUND_REQUESTS = ["path_report", "refresh_ice_servers"];

/** @returns {SessionState} */
export function initialState() {
  return {
    phase: "idle",
    connection: "connecting",
    selfId: null,
    role: null,
    session: null,
    sessionNumber: null,
    inviteLink: null,
    resumeToken: null,
    iceServers: [],
    participants: [],
    endReason: null,
    lastError: null,
    chat: [],
    audio: "prompt",
    features: null,
    organisation: null,
    notesSavedAt: null,
    paths: [],
  };
}

/** What stays when a session is over: the connection, the server's features, and why it ended. */
function outOfSession(/** @type {SessionState} */ s, /** @type {Phase} */ phase) {
  return { ...initialState(), connection: s.connection, features: s.features, organisation: s.organisation, phase, session: s.session, sessionNumber: s.sessionNumber };
}

/**
 * @param {SessionState} state
 * @param {Action} action
 * @returns {SessionState}
 */
export function reduce(state, action) {
  switch (action.type) {
    case "connection":
      return { ...state, connection: action.status };
    case "audio":
      return state.phase === "in_session" ? { ...state, audio: action.status } : state;
    case "dismiss_error":
      return { ...state, lastError: null };
    case "left":
      return outOfSession(state, "left");
    case "chat_sent":
    case "chat_received": {
      if (state.phase !== "in_session" || action.msg.type !== "chat") return state;
      const from = action.type === "chat_sent" ? state.selfId ?? "" : action.from;
      /** @type {ChatEntry} */
      const entry = {
        from,
        fromName: nameOf(state, from) ?? "",
        text: action.msg.text,
        to: [...action.msg.to],
        sentAt: action.msg.sent_at,
        mine: action.type === "chat_sent",
      };
      return { ...state, chat: [...state.chat, entry].slice(-CHAT_HISTORY_LIMIT) };
    }
    case "server":
      return reduceServer(state, action.msg);
  }
}

/**
 * @param {SessionState} state
 * @param {ServerMessage} msg
 * @returns {SessionState}
 */
function reduceServer(state, msg) {
  switch (msg.type) {
    case "session_created":
      return {
        ...initialState(),
        connection: state.connection,
        features: state.features,
        organisation: state.organisation,
        phase: "in_session",
        selfId: msg.participant_id,
        role: "primary_csr",
        session: msg.session,
        sessionNumber: msg.session.session_number,
        inviteLink: msg.invite_link,
        resumeToken: msg.resume_token,
        iceServers: msg.ice_servers,
      };
    case "lobby":
      return {
        ...initialState(),
        connection: state.connection,
        features: state.features,
        organisation: state.organisation,
        phase: "lobby",
        selfId: msg.participant_id,
        role: "waiting",
        sessionNumber: msg.session_number,
        resumeToken: msg.resume_token,
      };
    case "joined":
      return { ...enterSession(state, msg), resumeToken: msg.resume_token, endReason: null, lastError: null };
    case "resumed":
      return enterSession(state, msg);
    case "refused":
      return outOfSession(state, "refused");
    case "participants": {
      if (state.phase !== "in_session") return state;
      const me = msg.participants.find((p) => p.id === state.selfId);
      return { ...state, participants: msg.participants, role: me ? me.role : state.role };
    }
    case "hello":
      // An older server sends no features: nothing optional is on.
      return { ...state, features: { email_invitations: msg.features?.email_invitations === true }, organisation: msg.organisation ?? null };
    case "notes_saved":
      return state.phase === "in_session" ? { ...state, notesSavedAt: msg.saved_at } : state;
    case "path_reported": {
      if (state.phase !== "in_session") return state;
      const { from, with: to, local, remote, protocol } = msg;
      const others = state.paths.filter((p) => p.from !== from || p.with !== to);
      return { ...state, paths: [...others, { from, with: to, local, remote, protocol }] };
    }
    case "ice_servers":
      return state.phase === "in_session" ? { ...state, iceServers: msg.ice_servers } : state;
    case "session_ended":
      if (state.phase === "idle" || state.phase === "left" || state.phase === "refused") return state;
      return { ...outOfSession(state, "ended"), endReason: msg.reason };
    case "error":
      if (msg.code === "resume_failed") {
        // The server forgot us: whatever session we were in is over for this client.
        return { ...outOfSession(state, "ended"), lastError: { code: msg.code, inReplyTo: msg.in_reply_to ?? null } };
      }
      if (msg.in_reply_to && BACKGROUND_REQUESTS.includes(msg.in_reply_to)) return state;
      return { ...state, lastError: { code: msg.code, inReplyTo: msg.in_reply_to ?? null } };
    default:
      // pong and relayed signals do not change the session view; unknown types are ignored.
      return state;
  }
}

/**
 * The display name of a participant, if listed.
 * @param {SessionState} state
 * @param {ParticipantId} id
 */
export function nameOf(state, id) {
  return state.participants.find((p) => p.id === id)?.name ?? null;
}

/**
 * How a consent prompt names who asks: their name as the server lists it,
 * with the site's organisation for a CSR ("carla (Example Support)").
 * @param {SessionState} state
 * @param {string} id
 */
export function requesterName(state, id) {
  const p = state.participants.find((q) => q.id === id);
  if (!p) return null;
  const csr = p.role === "primary_csr" || p.role === "assistant_csr";
  return csr && state.organisation ? `${p.name} (${state.organisation})` : p.name;
}

/**
 * Admitted participants (everyone but the lobby), self included.
 * @param {SessionState} state
 */
export function admitted(state) {
  return state.participants.filter((p) => p.role !== "waiting");
}

/**
 * Customers waiting in the lobby (only CSRs are told about them).
 * @param {SessionState} state
 */
export function lobby(state) {
  return state.participants.filter((p) => p.role === "waiting");
}

/** @param {SessionState} state */
export function isPrimaryCsr(state) {
  return state.phase === "in_session" && state.role === "primary_csr";
}

/**
 * Whom this client keeps a peer connection with: every other admitted,
 * connected participant. The participant with the lexicographically smaller
 * id makes the offer (the native peer uses the same rule).
 * @param {SessionState} state
 * @returns {{ id: ParticipantId, offerer: boolean }[]}
 */
export function peerPlan(state) {
  if (state.phase !== "in_session" || !state.selfId) return [];
  const self = state.selfId;
  return admitted(state)
    .filter((p) => p.id !== self && p.connected)
    .map((p) => ({ id: p.id, offerer: self < p.id }));
}

/**
 * The state once in the session, from `joined` or `resumed` (same fields).
 * @param {SessionState} state
 * @param {Extract<ServerMessage, { type: "joined" | "resumed" }>} msg
 * @returns {SessionState}
 */
function enterSession(state, msg) {
  return {
    ...state,
    phase: "in_session",
    selfId: msg.participant_id,
    role: msg.role,
    session: msg.session,
    sessionNumber: msg.session.session_number,
    iceServers: msg.ice_servers,
  };
}
