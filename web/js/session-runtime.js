// @ts-check
/**
 * The thin shell around the pure session reducer: it feeds server messages
 * and peer events into `reduce`, keeps the signaling client's resume token
 * and the peer connections in line with the new state, and hands the state
 * to the page to render.
 */

import { FilesController } from "./files-controller.js";
import { refreshDelayMs } from "./ice-refresh.js";
import { MediaController } from "./media-controller.js";
import { FILES_LABEL, PeerMesh } from "./peers.js";
import { RemoteControl } from "./remote-control.js";
import { initialState, peerPlan, reduce } from "./session-state.js";
import { SignalingClient, signalingUrl } from "./signaling.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */
/** @typedef {import('./session-state.js').Action} Action */
/** @typedef {import('../types/wire.js').ClientMessage} ClientMessage */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */

/**
 * @param {(state: SessionState) => void} render called after every change
 */
export function startRuntime(render) {
  let state = initialState();
  /** @type {PeerMesh | null} */
  let mesh = null;
  /** The ICE server list the connections and the refresh timer were last given. */
  let iceServers = state.iceServers;
  /** @type {ReturnType<typeof setTimeout> | null} asks for fresh TURN credentials before they expire */
  let iceRefresh = null;

  /** @param {Action} action */
  const dispatch = (action) => {
    state = reduce(state, action);
    client.setResumeToken(state.resumeToken);
    if (state.phase === "in_session" && state.selfId) {
      if (mesh && mesh.opts.selfId !== state.selfId) {
        mesh.close();
        mesh = null;
      }
      if (!mesh) {
        mesh = new PeerMesh({
          selfId: state.selfId,
          iceServers: state.iceServers,
          sendSignal: (m) => client.send(m),
          onChat: (from, msg) => dispatch({ type: "chat_received", from, msg }),
          onChange: () => render(state),
          onRemoteTrack: (from, track, stream) => {
            if (track.kind === "audio") playRemote(from, stream);
            else media.onRemoteVideo(from, track, stream);
          },
          onChannelMessage: (from, label, data) => {
            if (label === FILES_LABEL) files.onFilesMessage(from, data);
            else media.onChannelMessage(from, label, data);
          },
          onChannelOpen: (from, label) => {
            if (label === FILES_LABEL) files.onFilesOpen(from);
          },
          onFileChannel: (from, channel) => files.onFileChannel(from, channel),
          onPeerClosed: (id) => {
            media.peerClosed(id);
            files.peerClosed(id);
            control.peerClosed(id);
          },
        });
        if (localAudio) mesh.setLocalStream(localAudio);
      }
      if (state.iceServers !== iceServers) {
        iceServers = state.iceServers;
        mesh.setIceServers(iceServers);
        scheduleIceRefresh();
      }
      mesh.sync(peerPlan(state));
    } else if (mesh) {
      mesh.close();
      mesh = null;
      stopAudio();
      media.reset();
      files.reset();
      control.reset();
    }
    if (state.phase !== "in_session" && iceRefresh) {
      clearTimeout(iceRefresh);
      iceRefresh = null;
    }
    render(state);
  };
  /** TURN credentials expire (NET-2): renew them ahead of time; the `ice_servers` reply goes to every connection. */
  const scheduleIceRefresh = () => {
    if (iceRefresh) clearTimeout(iceRefresh);
    const delay = refreshDelayMs(iceServers, Date.now());
    iceRefresh = delay === null ? null : setTimeout(() => {
      iceRefresh = null;
      client.send({ type: "refresh_ice_servers" });
    }, delay);
  };
  const changed = () => {
    // Control channels follow the consent book: opened once control is allowed, closed when it ends.
    control.sync(media.controlTargets());
    render(state);
  };
  const media = new MediaController(() => mesh, changed, (r) => {
    if (state.phase === "in_session") client.send({ type: "consent_record", ...r });
  });
  const files = new FilesController(() => mesh, changed);
  const control = new RemoteControl(() => mesh, () => render(state));

  /** @type {MediaStream | null} */
  let localAudio = null;
  /** @type {Map<ParticipantId, HTMLAudioElement>} */
  const players = new Map();
  /** @param {ParticipantId} from @param {MediaStream} stream */
  const playRemote = (from, stream) => {
    let player = players.get(from);
    if (!player) {
      player = document.createElement("audio");
      player.autoplay = true;
      player.dataset.participant = from;
      document.getElementById("remote-audio")?.append(player);
      players.set(from, player);
    }
    player.srcObject = stream;
  };
  const stopAudio = () => {
    localAudio?.getTracks().forEach((t) => t.stop());
    localAudio = null;
    for (const p of players.values()) p.remove();
    players.clear();
  };

  const client = new SignalingClient({
    url: signalingUrl(location),
    onMessage: (msg) => {
      if (msg.type === "offer" || msg.type === "answer" || msg.type === "candidate") {
        void mesh?.handleSignal(msg);
      } else {
        dispatch({ type: "server", msg });
      }
    },
    onStatus: (status) => dispatch({ type: "connection", status }),
  });
  // Connect after the caller has its handle: the first status change renders at once.
  queueMicrotask(() => client.connect());

  return {
    get state() {
      return state;
    },
    /** @param {ClientMessage} msg */
    send(msg) {
      client.send(msg);
    },
    /** @param {Action} action */
    dispatch,
    /** Leaves the session (customers, assistants). */
    leave() {
      client.send({ type: "leave" });
      dispatch({ type: "left" });
    },
    /**
     * Sends a chat line; false when nobody received it.
     * @param {string} text
     * @param {ParticipantId[]} to empty: everyone
     */
    sendChat(text, to) {
      if (!mesh) return false;
      const { sent, msg } = mesh.sendChat(text, to, Date.now());
      if (sent.length === 0) return false;
      dispatch({ type: "chat_sent", msg });
      return true;
    },
    /** Asks for the microphone and sends it to everyone (TOOL-2). */
    async joinAudio() {
      dispatch({ type: "audio", status: "joining" });
      try {
        localAudio = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (err) {
        console.warn("microphone:", err);
        dispatch({ type: "audio", status: "failed" });
        return;
      }
      if (state.phase !== "in_session") return stopAudio();
      mesh?.setLocalStream(localAudio);
      dispatch({ type: "audio", status: "joined" });
    },
    /** Audio RTP packets received from all peers so far (for the connection indicator and tests). */
    async audioPacketsReceived() {
      return mesh ? mesh.packetsReceived("audio") : 0;
    },
    /** Camera and screens shared or controlled with consent (TOOL-3, SHR-1..8, SHR-11). */
    media,
    /** Control input to the peers we may control (SHR-2, SHR-4, SHR-6, SHR-8). */
    control,
    /** Published files and downloads (TOOL-4). */
    files,
    /** Video RTP packets received from all peers so far (for tests). */
    async videoPacketsReceived() {
      return mesh ? mesh.packetsReceived("video") : 0;
    },
    /** The ICE servers (TURN credentials) each peer connection holds now, by participant (for tests). */
    connectionIceServers() {
      return mesh ? mesh.iceServersInUse() : {};
    },
    /** Participants whose chat channel is open. */
    chatReady() {
      return mesh ? mesh.chatReady() : [];
    },
  };
}

/** @typedef {ReturnType<typeof startRuntime>} Runtime */
