// @ts-check
/**
 * Parts both pages show: the participants list and the chat panel. All
 * customer-controlled text goes through `el()` as text nodes.
 */

import { el, byId } from "./dom.js";
import { admitted, nameOf } from "./session-state.js";
import { validChatText } from "./chat.js";
import { describeLink } from "./network-path.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */
/** @typedef {import('./i18n.js').Translate} Translate */
/** @typedef {import('./session-runtime.js').Runtime} Runtime */
/** @typedef {import('../types/wire.js').ParticipantInfo} ParticipantInfo */

/**
 * Fills a list with the admitted participants: name, role, "you", lost
 * connection, and the network path of our link with them once reported
 * (NET-2; CSRs only get `path_reported`). `data-chat="open"` marks those
 * whose chat channel is open.
 * @param {HTMLUListElement} list
 * @param {SessionState} state
 * @param {Translate} t
 * @param {string[]} chatReady participant ids with an open chat channel
 */
export function renderParticipants(list, state, t, chatReady) {
  list.replaceChildren(
    ...admitted(state).map((p) => {
      const details = [t(`role.${p.role}`)];
      if (p.id === state.selfId) details.push(t("participants.you"));
      if (!p.connected) details.push(t("participants.disconnected"));
      const path = state.selfId && p.id !== state.selfId ? describeLink(state.paths, state.selfId, p.id) : null;
      return el(
        "li",
        {
          "data-participant": p.id,
          "data-chat": chatReady.includes(p.id) ? "open" : false,
          class: p.connected ? "participant" : "participant disconnected",
        },
        el("span", { class: "name" }, p.name),
        " ",
        el("span", { class: "role" }, `(${details.join(", ")})`),
        path ? " " : "",
        path ? el("span", { class: "path" }, t(path.key, path.params)) : "",
      );
    }),
  );
}

/**
 * The chat panel (TOOL-1): the log, "send to" choices and the message form.
 * Expects #chat-log, #chat-to, #chat-form, #chat-text and #chat-status.
 * @param {Runtime} runtime
 * @param {() => Translate} currentT
 */
export function chatPanel(runtime, currentT) {
  const log = byId("chat-log", HTMLOListElement);
  const to = byId("chat-to", HTMLFieldSetElement);
  const form = byId("chat-form", HTMLFormElement);
  const text = byId("chat-text", HTMLTextAreaElement);
  const status = byId("chat-status", HTMLElement);
  let recipientsKey = "";

  /** The participants ticked by name, whatever "Everyone" says. */
  const ticked = () =>
    [...to.querySelectorAll("input:checked")]
      .map((i) => (i instanceof HTMLInputElement ? i.value : ""))
      .filter((v) => v && v !== "*");
  /** The recipients of the next line: empty means everyone. */
  const chosen = () => {
    const everyone = to.querySelector("input[value='*']");
    return everyone instanceof HTMLInputElement && everyone.checked ? [] : ticked();
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = currentT();
    const value = text.value;
    if (!validChatText(value)) return;
    if (runtime.sendChat(value, chosen())) {
      text.value = "";
      status.textContent = "";
    } else {
      status.textContent = t("chat.nobody");
    }
    text.focus();
  });
  // Enter sends, Shift+Enter makes a new line.
  text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  to.addEventListener("change", (ev) => {
    const target = ev.target;
    if (!(target instanceof HTMLInputElement)) return;
    const everyone = to.querySelector("input[value='*']");
    if (!(everyone instanceof HTMLInputElement)) return;
    if (target.value === "*" && target.checked) {
      for (const i of to.querySelectorAll("input")) if (i !== everyone) i.checked = false;
    } else if (target.value !== "*") {
      everyone.checked = ticked().length === 0;
    }
  });

  /** @param {SessionState} state */
  return function render(state) {
    const t = currentT();
    const others = admitted(state).filter((p) => p.id !== state.selfId);
    const key = JSON.stringify([document.documentElement.lang, others.map((p) => [p.id, p.name])]);
    if (key !== recipientsKey) {
      recipientsKey = key;
      const before = new Set(chosen());
      const everyoneChecked = before.size === 0;
      const legend = el("legend", {}, t("chat.to"));
      const everyone = el(
        "label",
        {},
        el("input", { type: "checkbox", name: "chat-to", value: "*", checked: everyoneChecked }),
        " ",
        t("chat.everyone"),
      );
      const people = others.map((p) =>
        el("label", {}, el("input", { type: "checkbox", name: "chat-to", value: p.id, checked: before.has(p.id) }), " ", p.name),
      );
      to.replaceChildren(legend, everyone, ...people);
    }
    if (state.chat.length === 0) {
      log.replaceChildren(el("li", { class: "empty" }, t("chat.empty")));
    } else {
      log.replaceChildren(
        ...state.chat.map((line) => {
          const who = line.mine ? t("chat.you") : line.fromName || nameOf(state, line.from) || line.from;
          const names = line.to.map((id) => nameOf(state, id) ?? id).join(", ");
          return el(
            "li",
            { class: line.mine ? "chat-line mine" : "chat-line" },
            el("span", { class: "chat-from" }, who),
            line.to.length > 0 ? el("span", { class: "chat-private" }, ` (${t("chat.private", { names })})`) : "",
            ": ",
            el("span", { class: "chat-text" }, line.text),
          );
        }),
      );
      log.scrollTop = log.scrollHeight;
    }
  };
}

/**
 * The audio call prompt (TOOL-2): everyone in the session is asked whether
 * to join. Expects #audio-q, #audio-join, #audio-decline and #audio-status.
 * @param {Runtime} runtime
 * @param {() => Translate} currentT
 */
export function audioPanel(runtime, currentT) {
  const question = byId("audio-q", HTMLElement);
  const join = byId("audio-join", HTMLButtonElement);
  const decline = byId("audio-decline", HTMLButtonElement);
  const status = byId("audio-status", HTMLElement);
  join.addEventListener("click", () => void runtime.joinAudio());
  decline.addEventListener("click", () => runtime.dispatch({ type: "audio", status: "declined" }));

  /** @param {SessionState} state */
  return function render(state) {
    const t = currentT();
    question.hidden = state.audio !== "prompt";
    join.hidden = state.audio === "joined" || state.audio === "joining";
    decline.hidden = state.audio !== "prompt";
    status.textContent = state.audio === "joined" ? t("audio.joined") : state.audio === "failed" ? t("audio.failed") : "";
  };
}
