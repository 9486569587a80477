// @ts-check
/**
 * The camera panel (TOOL-3), consent prompts and live shares (SHR-1..8)
 * and the shared-screen area with its viewers (remote-screen.js), for both
 * pages. Names are text nodes.
 */

import { byId, el } from "./dom.js";
import { promptKey, statusKey, stopKey } from "./consent-text.js";
import { ScreenViewer } from "./remote-screen.js";
import { admitted, nameOf, requesterName } from "./session-state.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */
/** @typedef {import('./i18n.js').Translate} Translate */
/** @typedef {import('./session-runtime.js').Runtime} Runtime */
/** @typedef {import('./media-controller.js').RemoteVideo} RemoteVideo */
/** @typedef {import('./consent-state.js').ConsentRequest} ConsentRequest */

/**
 * Whether an admitted, connected customer is in the session (a CSR's camera waits for one).
 * @param {SessionState} state
 */
export function customerPresent(state) {
  return admitted(state).some((p) => (p.role === "primary_customer" || p.role === "secondary_customer") && p.connected);
}

/**
 * Keeps one <figure><video> per stream in `box`, without restarting those already playing.
 * @param {HTMLElement} box
 * @param {Array<{ key: string, stream: MediaStream, caption: string, from: string, source: string }>} items
 */
export function syncVideos(box, items) {
  const wanted = new Set(items.map((i) => i.key));
  for (const fig of [...box.querySelectorAll("figure")]) {
    if (fig instanceof HTMLElement && !wanted.has(fig.dataset.stream ?? "")) fig.remove();
  }
  for (const item of items) {
    let fig = [...box.querySelectorAll("figure")].find((f) => f instanceof HTMLElement && f.dataset.stream === item.key);
    if (!fig) {
      const video = el("video", { autoplay: true, playsinline: true });
      video.muted = true;
      video.srcObject = item.stream;
      fig = el("figure", { "data-stream": item.key, "data-participant": item.from, "data-source": item.source }, video, el("figcaption", {}, item.caption));
      box.append(fig);
      void video.play().catch(() => {});
    } else {
      const cap = fig.querySelector("figcaption");
      if (cap && cap.textContent !== item.caption) cap.textContent = item.caption;
    }
  }
  box.hidden = items.length === 0;
}

/**
 * Camera: start/stop ours, see everyone's. Expects #camera-toggle, #camera-reason, #camera-videos.
 * @param {Runtime} runtime
 * @param {() => Translate} currentT
 * @param {{ csr: boolean }} opts a CSR may start only once a customer joined; a customer once a CSR's camera is on
 */
export function cameraPanel(runtime, currentT, opts) {
  const toggle = byId("camera-toggle", HTMLButtonElement);
  const reason = byId("camera-reason", HTMLElement);
  const videos = byId("camera-videos", HTMLElement);
  toggle.addEventListener("click", () => {
    if (runtime.media.camera === "on") runtime.media.stopCamera();
    else void runtime.media.startCamera();
  });

  /** @param {SessionState} state */
  return function render(state) {
    const t = currentT();
    const media = runtime.media;
    const remote = media.videos("camera");
    const on = media.camera === "on";
    let why = "";
    if (!on && opts.csr && !customerPresent(state)) why = t("camera.wait_customer");
    if (!on && !opts.csr && remote.length === 0) why = t("camera.wait_csr");
    toggle.textContent = on ? t("camera.stop") : t("camera.start");
    toggle.disabled = why !== "" || media.camera === "starting";
    // The reason is read with the button.
    reason.textContent = why || (media.camera === "failed" ? t("camera.failed") : "");
    const items = remote.map((v) => ({ key: v.stream.id, stream: v.stream, from: v.from, source: "camera", caption: nameOf(state, v.from) ?? "" }));
    if (on && media.cameraStream) {
      items.unshift({ key: media.cameraStream.id, stream: media.cameraStream, from: state.selfId ?? "", source: "camera-self", caption: t("camera.you") });
    }
    syncVideos(videos, items);
  };
}

/**
 * Consent prompts (decided here, on this page) and the live shares with
 * their Stop buttons. Expects #consent-prompts and #consent-active.
 * @param {Runtime} runtime
 * @param {() => Translate} currentT
 * @param {(r: ConsentRequest) => boolean} [shownElsewhere] requests the page shows in its own place (the dashboard's rows)
 */
export function consentPanel(runtime, currentT, shownElsewhere = () => false) {
  const prompts = byId("consent-prompts", HTMLElement);
  const active = byId("consent-active", HTMLElement);
  let promptsKey = "";

  /** @param {SessionState} state */
  return function render(state) {
    const t = currentT();
    const media = runtime.media;
    const who = (/** @type {string} */ id) => nameOf(state, id) ?? "?";
    const pending = media.requests.filter((r) => r.dir === "in" && r.status === "pending");
    const key = JSON.stringify([document.documentElement.lang, pending.map((r) => [r.peer, r.id, r.capability, who(r.peer)])]);
    if (key !== promptsKey) {
      const hadFocus = prompts.contains(document.activeElement);
      promptsKey = key;
      prompts.replaceChildren(
        ...pending.map((r) => {
          const textId = `consent-q-${r.peer}-${r.id}`;
          const question = t(promptKey(r.capability), { name: requesterName(state, r.peer) ?? "?" });
          const allow = el("button", { type: "button" }, t("consent.allow"));
          const deny = el("button", { type: "button", class: "secondary" }, t("consent.deny"));
          allow.addEventListener("click", () => void media.answer(r.peer, r.id, true));
          deny.addEventListener("click", () => void media.answer(r.peer, r.id, false));
          return el("div", { role: "alertdialog", class: "prompt", "aria-labelledby": textId, "data-request": `${r.peer}:${r.id}` }, el("p", { id: textId }, question), el("p", { class: "row" }, allow, deny));
        }),
      );
      prompts.hidden = pending.length === 0;
      // Bring the first new question to the keyboard user's attention.
      const first = prompts.querySelector("button");
      if (first instanceof HTMLButtonElement && (hadFocus || document.activeElement === document.body)) first.focus();
    }

    const lines = media.requests
      .filter((r) => !(r.dir === "in" && r.status === "pending") && !shownElsewhere(r))
      .map((r) => requestLine(r, who(r.peer), t, () => media.endRequest(r.peer, r.dir, r.id)));
    for (const n of media.notices) {
      if (n.key === "refused") continue; // shown by the refused request itself
      lines.push(el("li", { class: "notice" }, t(`consent.notice_${n.key}`, { name: who(n.peer) })));
    }
    active.replaceChildren(...lines);
    active.hidden = lines.length === 0;
  };
}

/**
 * Where a request stands, with the button that ends it (none for a refusal).
 * @param {ConsentRequest} r
 * @param {string} name the other participant
 * @param {Translate} t
 * @param {() => void} onEnd
 * @param {Record<string, string | boolean>} [attrs] for the line
 */
export function requestLine(r, name, t, onEnd, attrs = {}) {
  /** @type {Array<Node | string>} */
  const items = [el("span", {}, t(statusKey(r), { name }))];
  const stop = stopKey(r);
  if (stop) {
    const button = el("button", { type: "button", class: "danger" }, t(stop));
    button.addEventListener("click", onEnd);
    items.push(" ", button);
  }
  return el("li", { "data-request": `${r.peer}:${r.dir}:${r.id}`, "data-status": r.status, "data-capability": r.capability, ...attrs }, ...items);
}

/**
 * Screens others show us, each in a viewer with its view options and, while
 * we may control it, mouse and keyboard capture. Expects #screen-videos.
 * @param {Runtime} runtime
 * @param {() => Translate} currentT
 */
export function screenPanel(runtime, currentT) {
  const box = byId("screen-videos", HTMLElement);
  const empty = document.getElementById("screen-empty");
  /** @type {Map<string, ScreenViewer>} by stream id */
  const viewers = new Map();
  /** @param {SessionState} state */
  return function render(state) {
    const t = currentT();
    const screens = runtime.media.videos("screen");
    if (empty) empty.hidden = screens.length > 0;
    const wanted = new Set(screens.map((v) => v.stream.id));
    for (const [id, viewer] of viewers) {
      if (wanted.has(id)) continue;
      viewer.destroy();
      viewers.delete(id);
    }
    for (const v of screens) {
      let viewer = viewers.get(v.stream.id);
      if (!viewer) {
        const from = v.from;
        viewer = new ScreenViewer({
          stream: v.stream,
          from,
          send: (msg) => runtime.control.send(from, msg),
          motion: (at) => runtime.control.motion(from, at),
          setDisplayMode: (mode) => runtime.media.setDisplayMode(from, mode),
        });
        viewers.set(v.stream.id, viewer);
        box.append(viewer.element);
      }
      viewer.update(t, nameOf(state, v.from) ?? "", runtime.control.state(v.from));
    }
    box.hidden = screens.length === 0;
  };
}
