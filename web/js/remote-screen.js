// @ts-check
/**
 * One remote screen on the page (SHR-1..8, SHR-11): the video in a
 * viewport, a bar of view options (scale to fit or 1:1, display mode
 * standard or screen sampling, full screen), and, while this side may
 * control that screen, mouse and keyboard capture:
 *
 * - pointer events over the picture become `motion` (at most one per
 *   animation frame), `button` and `wheel` messages at normalized surface
 *   points (control-input.js maps them, bars and outside dropped);
 * - keys typed while the viewport has focus become `key` messages, with
 *   the browser's own handling suppressed; Keyboard Lock
 *   (https://wicg.github.io/keyboard-lock/) is asked for while capturing so
 *   that, in full screen, system shortcuts reach the other side too;
 * - Pointer Lock (https://w3c.github.io/pointerlock/) only when the person
 *   asks for it with the bar's button, and only while capturing: the
 *   pointer then moves by relative steps from where it was, drawn as a dot;
 * - focus starts capturing (click the screen, or Tab to it and press
 *   Enter), Escape twice or leaving it stops, and stopping releases every
 *   key and button still held on the other side.
 */

import { el } from "./dom.js";
import { contentRect, escapeTwice, keyMessage, mouseButton, movePoint, nearestSurfacePoint, surfacePoint, wheelLines } from "./control-input.js";

/** @typedef {import('./i18n.js').Translate} Translate */
/** @typedef {import('./control-input.js').Scale} Scale */
/** @typedef {import('./remote-control.js').ControlState} ControlState */
/** @typedef {import('../types/wire.js').ControlMessage} ControlMessage */
/** @typedef {import('../types/wire.js').DisplayMode} DisplayMode */
/** @typedef {import('../types/wire.js').MouseButton} MouseButton */
/** @typedef {import('../types/wire.js').Point} Point */

/**
 * @typedef {object} ViewerOptions
 * @property {MediaStream} stream
 * @property {string} from the participant who sends it
 * @property {(msg: ControlMessage) => boolean} send a button, wheel or key message to `from`
 * @property {(at: Point) => boolean} motion the pointer's position, to `from`
 * @property {(mode: DisplayMode) => void} setDisplayMode asks `from` for this encoding
 */

let viewers = 0;

export class ScreenViewer {
  /** @param {ViewerOptions} opts */
  constructor(opts) {
    this.opts = opts;
    const n = ++viewers;
    /** @type {Scale} */
    this.scale = "fit";
    /** @type {ControlState} */
    this.control = "none";
    this.capturing = false;
    /** @type {number | null} */
    this.lastEscapeAt = null;
    /** @type {Set<string>} key codes held down on the other side */
    this.keysDown = new Set();
    /** @type {Map<MouseButton, Point>} buttons held down, and where */
    this.buttonsDown = new Map();
    /** @type {Point | null} the last point sent or pointed at */
    this.at = null;
    /** @type {Point | null} a motion waiting for the next animation frame */
    this.pendingMotion = null;
    this.frame = 0;
    /** @type {Translate | null} */
    this.t = null;
    this.name = "";
    /** Removes the listeners on `document` when the viewer goes. */
    this.documentListeners = new AbortController();

    this.video = el("video", { autoplay: true, playsinline: true });
    this.video.muted = true;
    this.video.srcObject = opts.stream;
    this.dot = el("div", { class: "remote-pointer", hidden: true, "aria-hidden": "true" });
    this.hintId = `screen-hint-${n}`;
    this.viewport = el("div", { class: "screen-viewport fit", "data-scale": "fit" }, this.video, this.dot);
    this.caption = el("figcaption", {});
    this.fitButton = el("button", { type: "button", class: "secondary", "aria-pressed": "true", "data-scale": "fit" });
    this.actualButton = el("button", { type: "button", class: "secondary", "aria-pressed": "false", "data-scale": "actual" });
    this.modeLabel = el("span", {});
    this.standardOption = el("option", { value: "standard", selected: true });
    this.samplingOption = el("option", { value: "screen_sampling" });
    this.modeSelect = el("select", { class: "display-mode" }, this.standardOption, this.samplingOption);
    this.fullButton = el("button", { type: "button", class: "secondary" });
    this.lockButton = el("button", { type: "button", class: "secondary", "aria-pressed": "false", hidden: true });
    this.bar = el(
      "div",
      { class: "screen-bar", role: "group" },
      this.fitButton,
      this.actualButton,
      el("label", {}, this.modeLabel, " ", this.modeSelect),
      this.fullButton,
      this.lockButton,
    );
    this.hint = el("p", { class: "control-hint", id: this.hintId, role: "status", hidden: true });
    this.element = el("figure", { "data-stream": opts.stream.id, "data-participant": opts.from, "data-source": "screen" }, this.caption, this.bar, this.viewport, this.hint);

    this.fitButton.addEventListener("click", () => this.setScale("fit"));
    this.actualButton.addEventListener("click", () => this.setScale("actual"));
    this.modeSelect.addEventListener("change", () => opts.setDisplayMode(/** @type {DisplayMode} */ (this.modeSelect.value)));
    this.fullButton.addEventListener("click", () => void this.toggleFullscreen());
    this.lockButton.addEventListener("click", () => this.lockPointer());
    this.video.addEventListener("resize", () => this.layout());
    this.listen();
    void this.video.play().catch(() => {});
  }

  /**
   * Brings the viewer up to date: caption, language, and what control allows.
   * @param {Translate} t
   * @param {string} name who sends the screen
   * @param {ControlState} control
   */
  update(t, name, control) {
    this.t = t;
    this.name = name;
    const caption = t("screen.of", { name });
    if (this.caption.textContent !== caption) this.caption.textContent = caption;
    this.bar.setAttribute("aria-label", t("screen.controls", { name }));
    this.fitButton.textContent = t("screen.fit");
    this.actualButton.textContent = t("screen.actual");
    this.modeLabel.textContent = t("screen.display_mode");
    this.standardOption.textContent = t("screen.mode_standard");
    this.samplingOption.textContent = t("screen.mode_sampling");
    this.fullButton.textContent = document.fullscreenElement === this.element ? t("screen.exit_fullscreen") : t("screen.fullscreen");
    this.lockButton.textContent = t("screen.lock_pointer");
    this.lockButton.setAttribute("aria-pressed", String(this.pointerLocked()));

    if (control !== this.control) {
      this.control = control;
      if (control !== "open") this.stopCapture();
    }
    const controllable = control === "open";
    this.element.dataset.control = control;
    if (controllable) {
      this.viewport.tabIndex = 0;
      this.viewport.setAttribute("role", "application");
      this.viewport.setAttribute("aria-label", t("screen.control_label", { name }));
      this.viewport.setAttribute("aria-describedby", this.hintId);
    } else {
      this.viewport.removeAttribute("tabindex");
      for (const a of ["role", "aria-label", "aria-describedby"]) this.viewport.removeAttribute(a);
    }
    this.lockButton.hidden = !controllable || !("requestPointerLock" in this.viewport);
    this.renderHint();
  }

  /** Stops capturing and the video; the element is being removed. */
  destroy() {
    this.stopCapture();
    this.documentListeners.abort();
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.video.srcObject = null;
    this.element.remove();
  }

  // --- view options

  /** @private @param {Scale} scale */
  setScale(scale) {
    this.scale = scale;
    this.viewport.classList.toggle("fit", scale === "fit");
    this.viewport.classList.toggle("actual", scale === "actual");
    this.viewport.dataset.scale = scale;
    this.fitButton.setAttribute("aria-pressed", String(scale === "fit"));
    this.actualButton.setAttribute("aria-pressed", String(scale === "actual"));
    this.layout();
  }

  /** In 1:1, one video pixel per device pixel. @private */
  layout() {
    if (this.scale === "actual" && this.video.videoWidth > 0) {
      const ratio = devicePixelRatio || 1;
      this.video.style.width = `${this.video.videoWidth / ratio}px`;
      this.video.style.height = `${this.video.videoHeight / ratio}px`;
    } else {
      this.video.style.width = "";
      this.video.style.height = "";
    }
  }

  /** @private */
  async toggleFullscreen() {
    try {
      if (document.fullscreenElement === this.element) await document.exitFullscreen();
      else await this.element.requestFullscreen();
    } catch (err) {
      console.warn("full screen:", err);
    }
  }

  /** The labels that follow the browser's state (full screen entered or left by other means). @private */
  relabel() {
    if (this.t) this.update(this.t, this.name, this.control);
  }

  // --- capture

  /** @private */
  listen() {
    const v = this.viewport;
    v.addEventListener("focus", () => this.startCapture());
    v.addEventListener("blur", () => this.stopCapture());
    v.addEventListener("pointerdown", (ev) => this.onButton(ev, true));
    v.addEventListener("pointerup", (ev) => this.onButton(ev, false));
    v.addEventListener("pointercancel", () => this.releaseButtons());
    v.addEventListener("pointermove", (ev) => this.onMove(ev));
    v.addEventListener("wheel", (ev) => this.onWheel(ev), { passive: false });
    v.addEventListener("contextmenu", (ev) => {
      if (this.control === "open") ev.preventDefault();
    });
    v.addEventListener("keydown", (ev) => this.onKey(ev));
    v.addEventListener("keyup", (ev) => this.onKey(ev));
    const signal = this.documentListeners.signal;
    document.addEventListener("pointerlockchange", () => this.onPointerLockChange(), { signal });
    document.addEventListener("fullscreenchange", () => this.relabel(), { signal });
  }

  /** @private */
  startCapture() {
    if (this.control !== "open" || this.capturing) return;
    this.capturing = true;
    this.lastEscapeAt = null;
    this.element.dataset.capturing = "true";
    // Chromium honours it in full screen; elsewhere the call fails or does nothing, which is fine.
    const keyboard = /** @type {{ lock?: () => Promise<void> } | undefined} */ (/** @type {any} */ (navigator).keyboard);
    keyboard?.lock?.().catch(() => {});
    this.renderHint();
  }

  /** Releases whatever is held on the other side, then the keyboard and the pointer. @private */
  stopCapture() {
    if (!this.capturing) return;
    for (const code of this.keysDown) this.opts.send({ type: "key", code, down: false });
    this.keysDown.clear();
    this.releaseButtons();
    this.capturing = false;
    this.lastEscapeAt = null;
    this.pendingMotion = null;
    delete this.element.dataset.capturing;
    const keyboard = /** @type {{ unlock?: () => void } | undefined} */ (/** @type {any} */ (navigator).keyboard);
    keyboard?.unlock?.();
    if (this.pointerLocked()) document.exitPointerLock();
    this.renderHint();
  }

  /** @private */
  releaseButtons() {
    for (const [button, at] of this.buttonsDown) this.opts.send({ type: "button", at, button, down: false });
    this.buttonsDown.clear();
  }

  /**
   * The surface point of a pointer event: relative steps while the pointer
   * is locked, else under the pointer (null outside the picture, or the
   * nearest edge point when `nearest`).
   * @private @param {MouseEvent} ev @param {boolean} [nearest]
   * @returns {Point | null}
   */
  pointAt(ev, nearest = false) {
    const box = this.viewport.getBoundingClientRect();
    const rect = contentRect(
      { width: this.viewport.clientWidth, height: this.viewport.clientHeight },
      { width: this.video.videoWidth, height: this.video.videoHeight },
      this.scale,
      devicePixelRatio || 1,
    );
    if (this.pointerLocked()) return movePoint(this.at ?? { x: 0.5, y: 0.5 }, ev.movementX, ev.movementY, rect);
    const pointer = { x: ev.clientX - box.left - this.viewport.clientLeft, y: ev.clientY - box.top - this.viewport.clientTop };
    const scroll = { left: this.viewport.scrollLeft, top: this.viewport.scrollTop };
    return nearest ? nearestSurfacePoint(pointer, scroll, rect) : surfacePoint(pointer, scroll, rect);
  }

  /** @private @param {PointerEvent} ev @param {boolean} down */
  onButton(ev, down) {
    if (this.control !== "open") return;
    const button = mouseButton(ev.button);
    if (down) {
      // Focus (and so capture) first: the browser's own focus change is suppressed with the default.
      ev.preventDefault();
      if (document.activeElement !== this.viewport) this.viewport.focus();
      const at = this.pointAt(ev);
      if (!at || !button || !this.capturing) return;
      this.flushMotion(at);
      this.viewport.setPointerCapture?.(ev.pointerId);
      if (this.opts.send({ type: "button", at, button, down: true })) this.buttonsDown.set(button, at);
      return;
    }
    if (!button || !this.buttonsDown.has(button)) return;
    ev.preventDefault();
    // A release is never dropped: over the bars or outside it goes to the nearest edge point.
    const at = this.pointAt(ev, true) ?? this.buttonsDown.get(button) ?? { x: 0, y: 0 };
    this.buttonsDown.delete(button);
    this.opts.send({ type: "button", at, button, down: false });
  }

  /** @private @param {PointerEvent} ev */
  onMove(ev) {
    if (!this.capturing) return;
    const at = this.pointAt(ev);
    if (!at) return;
    this.at = at;
    if (this.pointerLocked()) this.placeDot(at);
    this.pendingMotion = at;
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        const next = this.pendingMotion;
        this.pendingMotion = null;
        if (next && this.capturing) this.opts.motion(next);
      });
    }
  }

  /**
   * A button or wheel at a point the other side's pointer may not have
   * reached yet: the motion goes first.
   * @private @param {Point} at
   */
  flushMotion(at) {
    this.at = at;
    this.pendingMotion = null;
    this.opts.motion(at);
  }

  /** @private @param {WheelEvent} ev */
  onWheel(ev) {
    if (!this.capturing) return;
    ev.preventDefault();
    const at = this.pointAt(ev);
    const lines = wheelLines(ev.deltaX, ev.deltaY, ev.deltaMode);
    if (!at || !lines) return;
    this.opts.send({ type: "wheel", at, ...lines });
  }

  /** @private @param {KeyboardEvent} ev */
  onKey(ev) {
    if (this.control !== "open") return;
    if (!this.capturing) {
      // Tabbed here: Enter or Space takes control; every other key keeps its usual meaning.
      if (ev.type === "keydown" && (ev.key === "Enter" || ev.key === " ")) {
        ev.preventDefault();
        this.startCapture();
      }
      return;
    }
    ev.preventDefault();
    ev.stopPropagation();
    if (ev.type === "keydown") {
      const esc = escapeTwice(this.lastEscapeAt, ev.code, ev.timeStamp);
      this.lastEscapeAt = esc.lastEscapeAt;
      if (esc.release) {
        this.stopCapture();
        return;
      }
    }
    const msg = keyMessage(ev);
    if (!msg || msg.type !== "key") return;
    // Held keys repeat on the other side by themselves; typed text repeats by being sent again.
    if (ev.repeat && msg.text === undefined) return;
    if (ev.type === "keyup" && !this.keysDown.has(msg.code)) return;
    if (this.opts.send(msg)) {
      if (msg.down) this.keysDown.add(msg.code);
      else this.keysDown.delete(msg.code);
    }
  }

  // --- pointer lock

  /** @private */
  pointerLocked() {
    return document.pointerLockElement === this.viewport;
  }

  /** @private */
  lockPointer() {
    if (this.control !== "open") return;
    this.viewport.focus();
    try {
      const p = /** @type {Promise<void> | undefined} */ (this.viewport.requestPointerLock());
      p?.catch?.((/** @type {unknown} */ err) => console.warn("pointer lock:", err));
    } catch (err) {
      console.warn("pointer lock:", err);
    }
  }

  /** @private */
  onPointerLockChange() {
    const locked = this.pointerLocked();
    this.dot.hidden = !locked;
    if (locked) {
      this.at ??= { x: 0.5, y: 0.5 };
      this.placeDot(this.at);
    }
    this.lockButton.setAttribute("aria-pressed", String(locked));
  }

  /** Draws the locked pointer where the other side has it. @private @param {Point} at */
  placeDot(at) {
    const rect = contentRect(
      { width: this.viewport.clientWidth, height: this.viewport.clientHeight },
      { width: this.video.videoWidth, height: this.video.videoHeight },
      this.scale,
      devicePixelRatio || 1,
    );
    if (!rect) return;
    this.dot.style.left = `${rect.left + at.x * rect.width}px`;
    this.dot.style.top = `${rect.top + at.y * rect.height}px`;
  }

  /** @private */
  renderHint() {
    const t = this.t;
    if (!t) return;
    const name = this.name;
    /** @type {Record<ControlState, string>} */
    const text = {
      none: "",
      opening: t("screen.control_opening"),
      open: this.capturing ? t("screen.control_active") : t("screen.control_start"),
      refused: t("screen.control_refused", { name }),
    };
    this.hint.textContent = text[this.control];
    this.hint.hidden = this.control === "none";
  }
}
