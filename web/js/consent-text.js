// @ts-check
/**
 * What the pages say about a consent request (SHR-1..8): the question on
 * the approving side, the line that tells either side where it stands, and
 * the label of the button that ends it. Pure: message keys out, the page
 * translates them.
 */

/** @typedef {import('./consent-state.js').ConsentRequest} ConsentRequest */
/** @typedef {import('./i18n.js').MessageKey} MessageKey */
/** @typedef {import('../types/wire.js').Capability} Capability */

/**
 * The question on the approving side's page.
 * @param {Capability} capability
 * @returns {MessageKey}
 */
export function promptKey(capability) {
  switch (capability) {
    case "view_application":
      return "consent.ask_view_application";
    case "share_view":
      return "consent.ask_share_view";
    case "share_control":
      return "consent.ask_share_control";
    default:
      // control_* never reaches a browser's prompt (declined at once); view_desktop.
      return "consent.ask_view_desktop";
  }
}

/**
 * Where a request stands, from this side: waiting, active (who shows what,
 * who controls whom) or declined.
 * @param {ConsentRequest} r
 * @returns {MessageKey}
 */
export function statusKey(r) {
  const app = r.surface === "application";
  if (r.dir === "out") {
    if (r.status === "refused") return r.capability === "control_desktop" || r.capability === "control_application" ? "consent.refused_control" : "consent.refused";
    const pending = r.status === "pending";
    switch (r.capability) {
      case "view_desktop":
        return pending ? "consent.waiting_view" : "consent.viewing_theirs";
      case "control_desktop":
        return pending ? "consent.waiting_control" : "consent.controlling_theirs";
      case "view_application":
        return pending ? "consent.waiting_view_app" : "consent.viewing_their_app";
      case "control_application":
        return pending ? "consent.waiting_control_app" : "consent.controlling_their_app";
      case "share_view":
        if (pending) return app ? "consent.waiting_share_app" : "consent.waiting_share";
        return app ? "consent.showing_your_app" : "consent.showing_yours";
      case "share_control":
        if (pending) return app ? "consent.waiting_share_control_app" : "consent.waiting_share_control";
        return app ? "consent.they_control_your_app" : "consent.they_control_yours";
    }
  }
  // Theirs, allowed here (pending ones are prompts; control_* is never allowed by a browser).
  switch (r.capability) {
    case "view_application":
      return "consent.showing_your_app";
    case "share_view":
      return "consent.viewing_theirs";
    case "share_control":
      return "consent.you_control_theirs";
    default:
      return "consent.showing_yours";
  }
}

/**
 * The label of the button that ends a request, or null for a refusal (nothing to end).
 * @param {ConsentRequest} r
 * @returns {MessageKey | null}
 */
export function stopKey(r) {
  if (r.status === "refused") return null;
  if (r.status === "pending") return "consent.cancel";
  if (r.capability === "control_desktop" || r.capability === "control_application" || r.capability === "share_control") return "consent.stop_control";
  // Who sends the screen: the approver for view_*, the requester for share_*.
  const weShow = (r.dir === "out") === (r.capability === "share_view");
  return weShow ? "consent.stop_sharing" : "consent.stop_viewing";
}
