// @ts-check
/**
 * The customer's pages (SES-3, SES-10, TOOL-1..4, SHR-1..5, SHR-11): join by
 * number and name or from an invite link (`/join/{number}#invite={token}`),
 * wait in the lobby, the support page (participants, chat, audio, cameras,
 * approve/deny prompts for screens and for control of the CSR's screen, the
 * remote screen with its view options and control capture, files), Leave;
 * refused and ended. Requests to control this computer are declined at once:
 * a browser cannot inject input.
 */

import { byId, showView } from "./dom.js";
import { groupNumber, parseJoinLocation, parseSessionNumber } from "./format.js";
import { startPage } from "./page.js";
import { renderParticipants } from "./views.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */

const invite = parseJoinLocation(location.pathname, location.hash);
const { runtime, t, showError } = startPage({ render });

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
  if (!number) return fail(t()("join.invalid_number"), numberInput);
  // 1-64 characters, no control characters (docs/protocol.md §2, display name).
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || [...name].length > 64 || /[\u0000-\u001f\u007f]/.test(name)) return fail(t()("join.invalid_name"), nameInput);
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
  const tr = t();
  if (invite.number && invite.inviteToken) {
    const invited = byId("invited", HTMLElement);
    invited.textContent = tr("join.invited", { number: groupNumber(invite.number) });
    invited.hidden = false;
  }
  const number = state.sessionNumber ? groupNumber(state.sessionNumber) : "";
  for (const h of document.querySelectorAll(".support-h")) h.textContent = tr("support.heading", { number });

  const phaseChanged = state.phase !== lastPhase;
  lastPhase = state.phase;
  switch (state.phase) {
    case "lobby":
      showView("lobby");
      break;
    case "in_session":
      showView("support");
      renderParticipants(byId("participants", HTMLUListElement), state, tr, runtime.chatReady());
      break;
    case "refused":
    case "ended":
    case "left":
      if (phaseChanged) showView(state.phase);
      break;
    default:
      if (phaseChanged) showView("join");
  }
}
