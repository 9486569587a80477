// @ts-check
/**
 * What every Tandem page does at start, in one place (the dashboard and the
 * customer pages): the language switcher, the session runtime, the panels
 * both pages show (chat, audio, camera, consent, screens, files), the
 * connection status, errors and the "session ended" text.
 */

import { byId, setUpLanguage } from "./dom.js";
import { isMessageKey } from "./i18n.js";
import { startRuntime } from "./session-runtime.js";
import { audioPanel, chatPanel } from "./views.js";
import { cameraPanel, consentPanel, screenPanel } from "./media-views.js";
import { filesPanel } from "./files-view.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */
/** @typedef {import('./i18n.js').Translate} Translate */
/** @typedef {import('./session-runtime.js').Runtime} Runtime */

/**
 * @param {object} opts
 * @param {(state: SessionState) => void} opts.render the page's own rendering, after the common parts
 * @param {boolean} [opts.canStartCamera] a CSR: may start the camera once a customer has joined
 * @param {(r: import('./consent-state.js').ConsentRequest) => boolean} [opts.consentShownElsewhere] requests the page shows itself (not in #consent-active)
 */
export function startPage(opts) {
  /** @type {Translate} */
  let t;
  const lang = setUpLanguage((next) => {
    t = next;
    render(runtime.state);
  });
  t = lang.t;
  const runtime = startRuntime((s) => render(s));
  const currentT = () => t;
  const panels = [
    chatPanel(runtime, currentT),
    audioPanel(runtime, currentT),
    cameraPanel(runtime, currentT, { csr: opts.canStartCamera ?? false }),
    consentPanel(runtime, currentT, opts.consentShownElsewhere),
    screenPanel(runtime, currentT),
    filesPanel(runtime, currentT),
  ];
  // Diagnostics handle for the browser console and the end-to-end tests (no secrets: state is what the page shows).
  Object.assign(globalThis, { tandemRuntime: runtime });

  /** @param {SessionState} state */
  function render(state) {
    const conn = byId("conn", HTMLElement);
    conn.textContent = t(`status.${state.connection}`);
    conn.dataset.status = state.connection;
    if (state.lastError) {
      const key = `error.${state.lastError.code}`;
      showError(isMessageKey(key) ? t(key) : t("error.generic", { code: state.lastError.code }));
    }
    if (state.phase === "ended") {
      const reason = state.endReason ? `ended.${state.endReason}` : "ended.other";
      byId("ended-reason", HTMLElement).textContent = isMessageKey(reason) ? t(reason) : t("ended.other");
    }
    if (state.phase === "in_session") for (const p of panels) p(state);
    opts.render(state);
  }

  /** @param {string | null} message */
  function showError(message) {
    const box = byId("error", HTMLElement);
    box.textContent = message ?? "";
    box.hidden = !message;
  }

  return { runtime, t: currentT, showError };
}
