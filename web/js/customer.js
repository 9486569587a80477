// @ts-check
/**
 * The customer's pages (SES-3, SES-10, TOOL-1): join by number and name or
 * from an invite link (`/join/{number}#invite={token}`), wait in the lobby,
 * the support page with participants and chat, Leave; refused and ended.
 */

import { byId, setUpLanguage, showView } from "./dom.js";
import { groupNumber, parseJoinLocation, parseSessionNumber } from "./format.js";
import { isMessageKey } from "./i18n.js";
import { startRuntime } from "./session-runtime.js";
import { audioPanel, chatPanel, renderParticipants } from "./views.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */

const invite = parseJoinLocation(location.pathname, location.hash);
let { t } = setUpLanguage((next) => {
  t = next;
  render(runtime.state);
});
const runtime = startRuntime((s) => render(s));
const renderChat = chatPanel(runtime, () => t);
const renderAudio = audioPanel(runtime, () => t);
// Diagnostics handle for the browser console and the end-to-end tests (no secrets: state is what the page shows).
Object.assign(globalThis, { tandemRuntime: runtime });

const numberInput = byId("join-number", HTMLInputElement);
const nameInput = byId("join-name", HTMLInputElement);
if (invite.number) numberInput.value = groupNumber(invite.number);
(invite.number ? nameInput : numberInput).focus();

byId("join-form", HTMLFormElement).addEventListener("submit", (ev) => {
  ev.preventDefault();
  const number = parseSessionNumber(numberInput.value);
  const name = nameInput.value.trim();
  const problem = byId("join-problem", HTMLElement);
  const fail = (/** @type {string} */ text, /** @type {HTMLInputElement} */ field) => {
    problem.textContent = text;
    problem.hidden = false;
    field.setAttribute("aria-invalid", "true");
    field.focus();
  };
  numberInput.removeAttribute("aria-invalid");
  nameInput.removeAttribute("aria-invalid");
  if (!number) return fail(t("join.invalid_number"), numberInput);
  // 1-64 characters, no control characters (docs/protocol.md §2, display name).
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || [...name].length > 64 || /[\u0000-\u001f\u007f]/.test(name)) return fail(t("join.invalid_name"), nameInput);
  problem.hidden = true;
  showError(null);
  runtime.dispatch({ type: "dismiss_error" });
  // The invite token only belongs to the number it came with.
  const token = invite.inviteToken && invite.number === number ? invite.inviteToken : null;
  runtime.send({ type: "join", session_number: number, name, ...(token ? { invite_token: token } : {}) });
});

for (const button of document.querySelectorAll("button.leave")) {
  button.addEventListener("click", () => runtime.leave());
}
for (const button of document.querySelectorAll("button.again")) {
  button.addEventListener("click", () => {
    runtime.dispatch({ type: "dismiss_error" });
    showView("join");
    nameInput.focus();
  });
}

/** Which view the last render showed, so that "join again" is not undone by a later render. */
let lastPhase = "";

/** @param {SessionState} state */
function render(state) {
  const conn = byId("conn", HTMLElement);
  conn.textContent = t(`status.${state.connection}`);
  conn.dataset.status = state.connection;
  if (invite.number && invite.inviteToken) {
    const invited = byId("invited", HTMLElement);
    invited.textContent = t("join.invited", { number: groupNumber(invite.number) });
    invited.hidden = false;
  }
  if (state.lastError) {
    const key = `error.${state.lastError.code}`;
    showError(isMessageKey(key) ? t(key) : t("error.generic", { code: state.lastError.code }));
  }
  const number = state.sessionNumber ? groupNumber(state.sessionNumber) : "";
  for (const h of document.querySelectorAll(".support-h")) h.textContent = t("support.heading", { number });

  const phaseChanged = state.phase !== lastPhase;
  lastPhase = state.phase;
  switch (state.phase) {
    case "lobby":
      showView("lobby");
      break;
    case "in_session":
      showView("support");
      renderParticipants(byId("participants", HTMLUListElement), state, t, runtime.chatReady());
      renderChat(state);
      renderAudio(state);
      break;
    case "refused":
      if (phaseChanged) showView("refused");
      break;
    case "ended": {
      const reason = state.endReason ? `ended.${state.endReason}` : "ended.other";
      byId("ended-reason", HTMLElement).textContent = isMessageKey(reason) ? t(reason) : t("ended.other");
      if (phaseChanged) showView("ended");
      break;
    }
    case "left":
      if (phaseChanged) showView("left");
      break;
    default:
      if (phaseChanged) showView("join");
  }
}

/** @param {string | null} message */
function showError(message) {
  const box = byId("error", HTMLElement);
  box.textContent = message ?? "";
  box.hidden = !message;
}
