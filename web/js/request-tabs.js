// @ts-check
/**
 * The dashboard's Desktop and Application tabs (SES-11; SHR-1..8): for the
 * chosen customer, Request view, Request control, Share view and Share
 * control, of the whole desktop or of one application window, each with
 * where it stands (waiting, active, declined) and the button that ends it.
 *
 * A row's button is disabled while its request is live (and Share view
 * while control is shared: control implies view). The consent rules and the
 * capture are the media controller's; this file only draws and forwards
 * clicks. Expects #desktop-target, #application-target, #desktop-reason,
 * #application-reason and the rows' buttons.
 */

import { byId, el } from "./dom.js";
import { statusKey, stopKey } from "./consent-text.js";
import { admitted } from "./session-state.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */
/** @typedef {import('./i18n.js').Translate} Translate */
/** @typedef {import('./session-runtime.js').Runtime} Runtime */
/** @typedef {import('./consent-state.js').ConsentRequest} ConsentRequest */
/** @typedef {import('./consent-state.js').Surface} Surface */
/** @typedef {import('../types/wire.js').Capability} Capability */

/** @type {ReadonlyArray<{ button: string, capability: Capability, surface: Surface }>} */
const ROWS = [
  { button: "request-view", capability: "view_desktop", surface: "desktop" },
  { button: "request-control", capability: "control_desktop", surface: "desktop" },
  { button: "share-screen", capability: "share_view", surface: "desktop" },
  { button: "share-control", capability: "share_control", surface: "desktop" },
  { button: "request-view-app", capability: "view_application", surface: "application" },
  { button: "request-control-app", capability: "control_application", surface: "application" },
  { button: "share-view-app", capability: "share_view", surface: "application" },
  { button: "share-control-app", capability: "share_control", surface: "application" },
];

/**
 * @param {Runtime} runtime
 * @param {() => Translate} currentT
 */
export function requestTabs(runtime, currentT) {
  const selects = [byId("desktop-target", HTMLSelectElement), byId("application-target", HTMLSelectElement)];
  const reasons = [byId("desktop-reason", HTMLElement), byId("application-reason", HTMLElement)];
  /** The customer both tabs act on. */
  let chosen = "";
  let optionsKey = "";
  const rows = ROWS.map((row) => {
    const button = byId(row.button, HTMLButtonElement);
    const line = button.closest("li");
    const state = line?.querySelector(".request-state");
    if (!(line instanceof HTMLLIElement) || !(state instanceof HTMLElement)) throw new Error(`row of #${row.button} lacks its state`);
    button.addEventListener("click", () => {
      if (!chosen) return;
      const { capability, surface } = row;
      if (capability === "share_view" || capability === "share_control") void runtime.media.share(chosen, capability, surface);
      else runtime.media.request(chosen, capability);
    });
    return { ...row, button, line, state, key: "" };
  });
  for (const select of selects) {
    select.addEventListener("change", () => {
      chosen = select.value;
      for (const other of selects) other.value = chosen;
      render(runtime.state);
    });
  }

  /** @param {SessionState} state */
  function render(state) {
    const t = currentT();
    const media = runtime.media;
    const customers = admitted(state).filter((p) => (p.role === "primary_customer" || p.role === "secondary_customer") && p.connected);
    if (!customers.some((p) => p.id === chosen)) chosen = customers[0]?.id ?? "";
    const key = JSON.stringify(customers.map((p) => [p.id, p.name]));
    if (key !== optionsKey) {
      optionsKey = key;
      for (const select of selects) select.replaceChildren(...customers.map((p) => el("option", { value: p.id }, p.name)));
    }
    const none = customers.length === 0;
    for (const select of selects) {
      select.value = chosen;
      select.disabled = none;
    }
    for (const reason of reasons) reason.textContent = none ? t("desktop.no_customer") : "";
    const name = customers.find((p) => p.id === chosen)?.name ?? "";

    for (const row of rows) {
      const r = chosen ? media.outgoing(chosen, row.capability, row.surface) : null;
      const live = (/** @type {ConsentRequest | null} */ q) => q !== null && q.status !== "refused";
      // Control implies view: while control of our screen is shared, viewing it is too.
      const implied = row.capability === "share_view" && live(chosen ? media.outgoing(chosen, "share_control", row.surface) : null);
      row.button.disabled = none || live(r) || implied;
      row.line.dataset.status = r?.status ?? "none";
      const rowKey = JSON.stringify([document.documentElement.lang, r?.id, r?.status, name]);
      if (rowKey === row.key) continue;
      row.key = rowKey;
      if (!r) {
        row.state.replaceChildren();
        continue;
      }
      /** @type {Array<Node | string>} */
      const items = [el("span", { class: "state-text" }, t(statusKey(r), { name }))];
      const stop = stopKey(r);
      if (stop) {
        const end = el("button", { type: "button", class: "danger" }, t(stop));
        end.addEventListener("click", () => media.endRequest(r.peer, r.dir, r.id));
        items.push(" ", end);
      }
      row.state.replaceChildren(...items);
    }
  }

  return {
    render,
    /** The requests these rows show (the chosen customer's, ours), left out of the general list. @param {ConsentRequest} r */
    shownHere: (r) => r.dir === "out" && r.peer === chosen,
  };
}
