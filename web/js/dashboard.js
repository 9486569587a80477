// @ts-check
/**
 * The CSR dashboard (SES-1, SES-2, SES-3, SES-10, SES-11, TOOL-1..4, TOOL-6,
 * SHR-1..8, SHR-11): sign in, start a session, invite, admit or refuse
 * waiting customers, chat, audio, camera, the Desktop and Application tabs
 * (view, control, share), remote screens, files, advanced file transfer and
 * system information with a native customer (TOOL-5, TOOL-7), notes, end;
 * and the compact "icon tray" mode of the same console for small windows.
 */

import { byId, el, showView } from "./dom.js";
import { groupNumber, mailtoLink, siteAddress } from "./format.js";
import { LANGUAGES } from "./i18n.js";
import { startPage } from "./page.js";
import { RemoteFiles } from "./remote-files.js";
import { remoteFilesPanel } from "./remote-files-view.js";
import { requestTabs } from "./request-tabs.js";
import { lobby } from "./session-state.js";
import { renderParticipants } from "./views.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */

/** Longest notes the server keeps (characters). */
const MAX_NOTES_CHARS = 20_000;

/** @type {{ token: string, name: string } | null} */
let agent = null;
/** @type {ReturnType<typeof requestTabs> | null} the Desktop and Application tabs' rows */
let requestRows = null;
/** @type {RemoteFiles | null} advanced file transfer and system information with native customers */
let remoteFiles = null;
/** @type {ReturnType<typeof remoteFilesPanel> | null} */
let remoteFilesRender = null;
const { runtime, t, showError: showPageError } = startPage({ render, canStartCamera: true, consentShownElsewhere: (r) => requestRows?.shownHere(r) ?? false });
requestRows = requestTabs(runtime, t);
// Over the runtime's peer connections (the basic file transfer's handle on them).
remoteFiles = new RemoteFiles(() => runtime.files.mesh(), () => render(runtime.state));
remoteFilesRender = remoteFilesPanel(remoteFiles, t, () => runtime.state);
// Diagnostics handle for the browser console and the end-to-end tests, like `tandemRuntime`.
Object.assign(globalThis, { tandemRemoteFiles: remoteFiles });
setUpCompact();

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
    showError(res?.status === 429 ? t()("signin.rate_limited") : res?.status === 401 ? t()("signin.failed") : t()("error.generic", { code: res?.status ?? "network" }));
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
  byId("notes-text", HTMLTextAreaElement).value = "";
  byId("notes-status", HTMLElement).textContent = "";
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
    status.textContent = t()("invite.copied");
  } catch {
    byId("invite-link", HTMLInputElement).select();
    status.textContent = t()("invite.copy_failed");
  }
});

// --- Invitations sent by the server (SES-2).
const emailLanguage = byId("email-language", HTMLSelectElement);
for (const l of LANGUAGES) emailLanguage.append(el("option", { value: l.tag, lang: l.tag }, l.name));
emailLanguage.value = document.documentElement.lang;
byId("email-form", HTMLFormElement).addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const status = byId("email-status", HTMLElement);
  const to = byId("email-to", HTMLInputElement);
  const number = runtime.state.session?.session_number;
  if (!agent || !number) return;
  const res = await fetch("/api/v1/invitations", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${agent.token}` },
    body: JSON.stringify({ session_number: number, to: to.value.trim(), language: emailLanguage.value, kind: byId("email-kind", HTMLSelectElement).value }),
  }).catch(() => null);
  const code = res && !res.ok ? String((await res.json().catch(() => ({}))).error ?? "") : "";
  if (res?.status === 202) {
    status.textContent = t()("invite.email_sent", { to: to.value.trim() });
    to.value = "";
  } else if (code === "bad_address") {
    status.textContent = t()("invite.email_bad_address");
    to.focus();
  } else if (res?.status === 429) {
    status.textContent = t()("invite.email_rate_limited");
  } else if (code === "email_not_configured") {
    status.textContent = t()("invite.server_disabled");
  } else if (res?.status === 401) {
    status.textContent = t()("error.unauthorized");
  } else {
    status.textContent = t()("invite.email_failed");
  }
});

// --- Notes (TOOL-6) and End session with a last chance to edit them (SES-10).
const notes = byId("notes-text", HTMLTextAreaElement);
byId("notes-form", HTMLFormElement).addEventListener("submit", (ev) => {
  ev.preventDefault();
  runtime.send({ type: "save_notes", notes: notes.value.slice(0, MAX_NOTES_CHARS) });
});
notes.addEventListener("input", () => {
  byId("notes-status", HTMLElement).textContent = t()("notes.not_saved");
});
const endDialog = byId("end-dialog", HTMLDialogElement);
const endNotes = byId("end-notes", HTMLTextAreaElement);
byId("end-session", HTMLButtonElement).addEventListener("click", () => {
  endNotes.value = notes.value;
  // Escape closes without a value: it must not count as an earlier "end".
  endDialog.returnValue = "";
  endDialog.showModal();
  endNotes.focus();
});
endDialog.addEventListener("close", () => {
  if (endDialog.returnValue !== "end") {
    notes.value = endNotes.value;
    return;
  }
  notes.value = endNotes.value;
  runtime.send({ type: "end_session", notes: endNotes.value.slice(0, MAX_NOTES_CHARS) });
});

byId("new-session", HTMLButtonElement).addEventListener("click", () => {
  runtime.dispatch({ type: "left" });
  render(runtime.state);
});

/**
 * @param {SessionState} state
 */
function render(state) {
  const tr = t();
  byId("who", HTMLElement).textContent = agent ? tr("signin.as", { name: agent.name }) : "";
  if (state.lastError?.code === "unauthorized") agent = null;

  if (state.phase !== "in_session") remoteFiles?.reset();
  if (state.phase === "in_session") {
    showView("console");
    renderConsole(state);
  } else if (state.phase === "ended") {
    if (endDialog.open) endDialog.close();
    showView("ended");
  } else {
    showView(agent ? "start" : "signin");
  }
}

/** @param {SessionState} state */
function renderConsole(state) {
  const tr = t();
  const session = state.session;
  if (!session) return;
  const number = groupNumber(session.session_number);
  byId("session-h", HTMLElement).textContent = tr("session.details", { number });
  byId("session-number", HTMLOutputElement).textContent = number;
  const link = state.inviteLink ?? "";
  byId("invite-link", HTMLInputElement).value = link;
  const site = siteAddress(link ? new URL(link).origin : location.origin);
  byId("phone-text", HTMLElement).textContent = tr("invite.phone_text", { site, number });
  byId("mail-invite", HTMLAnchorElement).href = mailtoLink({
    subject: tr("invite.email_subject"),
    body: tr("invite.email_body", { link, site, number, csr: agent?.name ?? "" }),
  });
  const emailOff = state.features?.email_invitations !== true;
  byId("email-disabled", HTMLElement).hidden = !emailOff;
  for (const id of ["email-to", "email-kind", "email-language", "email-send"]) {
    const control = document.getElementById(id);
    if (control instanceof HTMLInputElement || control instanceof HTMLSelectElement || control instanceof HTMLButtonElement) control.disabled = emailOff;
  }
  if (emailOff) byId("email-send", HTMLButtonElement).setAttribute("aria-describedby", "email-disabled");

  byId("notes-status", HTMLElement).textContent = state.notesSavedAt
    ? tr("notes.saved_at", { time: new Date(state.notesSavedAt).toLocaleTimeString(document.documentElement.lang) })
    : byId("notes-status", HTMLElement).textContent;

  renderParticipants(byId("participants", HTMLUListElement), state, tr, runtime.chatReady());
  const waiting = lobby(state);
  const lobbyList = byId("lobby", HTMLUListElement);
  if (waiting.length === 0) {
    lobbyList.replaceChildren(el("li", { class: "empty" }, tr("lobby.empty")));
  } else {
    lobbyList.replaceChildren(
      ...waiting.map((p) => {
        const admit = el("button", { type: "button", "aria-label": tr("lobby.admit_named", { name: p.name }) }, tr("lobby.admit"));
        const refuse = el("button", { type: "button", "aria-label": tr("lobby.refuse_named", { name: p.name }) }, tr("lobby.refuse"));
        admit.addEventListener("click", () => runtime.send({ type: "admit", participant_id: p.id }));
        refuse.addEventListener("click", () => runtime.send({ type: "refuse", participant_id: p.id }));
        return el("li", { "data-participant": p.id }, el("span", { class: "name" }, p.name), " ", admit, " ", refuse);
      }),
    );
  }

  requestRows?.render(state);
  remoteFilesRender?.(state);

  const details = [];
  if (session.session_type) details.push(tr("session.type", { value: session.session_type }));
  if (session.tracking_code) details.push(tr("session.tracking", { value: session.tracking_code }));
  byId("session-details", HTMLUListElement).replaceChildren(...details.map((d) => el("li", {}, d)));
  byId("compact-toggle", HTMLButtonElement).textContent = document.body.classList.contains("compact") ? tr("compact.off") : tr("compact.on");
}

/** @param {string | null} message */
function showError(message) {
  showPageError(message);
  if (!message && runtime.state.lastError) runtime.dispatch({ type: "dismiss_error" });
}

/**
 * WAI-ARIA tabs: click or arrow keys (Home/End) select, focus follows selection.
 * @returns {(panelId: string) => void} selects the tab of a panel
 */
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
  return (panelId) => {
    const tab = tabs.find((x) => x.getAttribute("aria-controls") === panelId);
    if (tab) select(tab);
  };
}

/**
 * The compact console ("icon tray", SES-11): the same console with the
 * participants and tab bar folded away behind a row of icon buttons. It turns
 * on by itself in a small window (until the CSR chooses) and with the toggle.
 */
function setUpCompact() {
  const selectPanel = setUpTabs();
  const toggle = byId("compact-toggle", HTMLButtonElement);
  const tray = byId("tray", HTMLElement);
  const small = matchMedia("(max-width: 40rem)");
  /** @type {boolean | null} the CSR's own choice wins over the window size */
  let chosen = null;
  const apply = () => {
    const compact = chosen ?? small.matches;
    document.body.classList.toggle("compact", compact);
    tray.hidden = !compact;
    toggle.setAttribute("aria-pressed", String(compact));
    toggle.textContent = compact ? t()("compact.off") : t()("compact.on");
  };
  small.addEventListener("change", apply);
  toggle.addEventListener("click", () => {
    chosen = !document.body.classList.contains("compact");
    apply();
  });
  for (const button of tray.querySelectorAll("button[data-tray]")) {
    if (!(button instanceof HTMLButtonElement)) continue;
    button.addEventListener("click", () => {
      selectPanel(button.dataset.tray ?? "");
      const focus = document.getElementById(button.dataset.focus ?? "");
      const section = focus?.closest("section");
      for (const b of tray.querySelectorAll("button")) b.removeAttribute("aria-current");
      button.setAttribute("aria-current", "true");
      // In the tray only the chosen tool's section shows.
      for (const s of document.querySelectorAll(".tabs-area section.panel")) s.classList.toggle("tray-open", s === section);
      if (focus instanceof HTMLElement) focus.focus();
    });
  }
  apply();
}
