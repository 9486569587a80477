// @ts-check
/**
 * The CSR dashboard (SES-1, SES-2, SES-3, SES-10, SES-11, TOOL-1): sign in,
 * start a session, invite, admit or refuse waiting customers, chat, end.
 */

import { byId, el, setUpLanguage, showView } from "./dom.js";
import { groupNumber, mailtoLink, siteAddress } from "./format.js";
import { isMessageKey } from "./i18n.js";
import { startRuntime } from "./session-runtime.js";
import { lobby } from "./session-state.js";
import { audioPanel, chatPanel, renderParticipants } from "./views.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */
/** @typedef {import('./i18n.js').Translate} Translate */

/** @type {{ token: string, name: string } | null} */
let agent = null;
let { t } = setUpLanguage((next) => {
  t = next;
  render(runtime.state);
});

const runtime = startRuntime((s) => render(s));
const renderChat = chatPanel(runtime, () => t);
const renderAudio = audioPanel(runtime, () => t);
// Diagnostics handle for the browser console and the end-to-end tests (no secrets: state is what the page shows).
Object.assign(globalThis, { tandemRuntime: runtime });
setUpTabs();

byId("signin-form", HTMLFormElement).addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = byId("signin-name", HTMLInputElement).value.trim();
  const password = byId("signin-password", HTMLInputElement).value;
  const res = await fetch("/api/v1/signin", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, password }),
  }).catch(() => null);
  if (!res || !res.ok) {
    showError(res?.status === 429 ? t("signin.rate_limited") : res?.status === 401 ? t("signin.failed") : t("error.generic", { code: res?.status ?? "network" }));
    return;
  }
  const body = await res.json();
  agent = { token: String(body.token), name: String(body.agent?.name ?? name) };
  byId("signin-password", HTMLInputElement).value = "";
  showError(null);
  render(runtime.state);
  byId("start-type", HTMLInputElement).focus();
});

byId("start-form", HTMLFormElement).addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (!agent) return;
  const sessionType = byId("start-type", HTMLInputElement).value.trim();
  const tracking = byId("start-tracking", HTMLInputElement).value.trim();
  runtime.send({
    type: "create_session",
    token: agent.token,
    ...(sessionType ? { session_type: sessionType } : {}),
    ...(tracking ? { tracking_code: tracking } : {}),
  });
});

byId("copy-link", HTMLButtonElement).addEventListener("click", async () => {
  const link = runtime.state.inviteLink ?? "";
  const status = byId("copy-status", HTMLElement);
  try {
    await navigator.clipboard.writeText(link);
    status.textContent = t("invite.copied");
  } catch {
    byId("invite-link", HTMLInputElement).select();
    status.textContent = t("invite.copy_failed");
  }
});

byId("end-session", HTMLButtonElement).addEventListener("click", () => runtime.send({ type: "end_session" }));
byId("new-session", HTMLButtonElement).addEventListener("click", () => {
  runtime.dispatch({ type: "left" });
  render(runtime.state);
});

/**
 * @param {SessionState} state
 */
function render(state) {
  const conn = byId("conn", HTMLElement);
  conn.textContent = t(`status.${state.connection}`);
  conn.dataset.status = state.connection;
  byId("who", HTMLElement).textContent = agent ? t("signin.as", { name: agent.name }) : "";
  if (state.lastError) {
    const key = `error.${state.lastError.code}`;
    showError(isMessageKey(key) ? t(key) : t("error.generic", { code: state.lastError.code }));
    if (state.lastError.code === "unauthorized") agent = null;
  }

  if (state.phase === "in_session") {
    showView("console");
    renderConsole(state);
  } else if (state.phase === "ended") {
    showView("ended");
    const reason = state.endReason ? `ended.${state.endReason}` : "ended.other";
    byId("ended-reason", HTMLElement).textContent = isMessageKey(reason) ? t(reason) : t("ended.other");
  } else {
    showView(agent ? "start" : "signin");
  }
}

/** @param {SessionState} state */
function renderConsole(state) {
  const session = state.session;
  if (!session) return;
  const number = groupNumber(session.session_number);
  byId("session-h", HTMLElement).textContent = t("session.details", { number });
  byId("session-number", HTMLOutputElement).textContent = number;
  const link = state.inviteLink ?? "";
  byId("invite-link", HTMLInputElement).value = link;
  const site = siteAddress(link ? new URL(link).origin : location.origin);
  byId("phone-text", HTMLElement).textContent = t("invite.phone_text", { site, number });
  byId("mail-invite", HTMLAnchorElement).href = mailtoLink({
    subject: t("invite.email_subject"),
    body: t("invite.email_body", { link, site, number, csr: agent?.name ?? "" }),
  });

  renderParticipants(byId("participants", HTMLUListElement), state, t, runtime.chatReady());
  const waiting = lobby(state);
  const lobbyList = byId("lobby", HTMLUListElement);
  if (waiting.length === 0) {
    lobbyList.replaceChildren(el("li", { class: "empty" }, t("lobby.empty")));
  } else {
    lobbyList.replaceChildren(
      ...waiting.map((p) => {
        const admit = el("button", { type: "button", "aria-label": t("lobby.admit_named", { name: p.name }) }, t("lobby.admit"));
        const refuse = el("button", { type: "button", "aria-label": t("lobby.refuse_named", { name: p.name }) }, t("lobby.refuse"));
        admit.addEventListener("click", () => runtime.send({ type: "admit", participant_id: p.id }));
        refuse.addEventListener("click", () => runtime.send({ type: "refuse", participant_id: p.id }));
        return el("li", { "data-participant": p.id }, el("span", { class: "name" }, p.name), " ", admit, " ", refuse);
      }),
    );
  }

  const details = [];
  if (session.session_type) details.push(t("session.type", { value: session.session_type }));
  if (session.tracking_code) details.push(t("session.tracking", { value: session.tracking_code }));
  byId("session-details", HTMLUListElement).replaceChildren(...details.map((d) => el("li", {}, d)));
  renderChat(state);
  renderAudio(state);
}

/** @param {string | null} message */
function showError(message) {
  const box = byId("error", HTMLElement);
  box.textContent = message ?? "";
  box.hidden = !message;
  if (!message && runtime.state.lastError) runtime.dispatch({ type: "dismiss_error" });
}

/** WAI-ARIA tabs: click or arrow keys (Home/End) select, focus follows selection. */
function setUpTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")].filter((x) => x instanceof HTMLButtonElement);
  const select = (/** @type {HTMLButtonElement} */ tab) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      const panel = document.getElementById(other.getAttribute("aria-controls") ?? "");
      if (panel) panel.hidden = !selected;
    }
  };
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (ev) => {
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
      if (next === undefined) return;
      ev.preventDefault();
      const target = tabs[(next + tabs.length) % tabs.length];
      select(target);
      target.focus();
    });
  }
}
