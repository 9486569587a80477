// The page side of a remote screen in the end-to-end tests: where on the
// page a point of the viewer's picture is, and instrumentation that records
// what the page sends on the control channels and lets the test open a
// control channel of its own (the hostile path: input the dashboard itself
// would never send).

/**
 * Where on the page the surface point (`fx`, `fy`) of the viewer's picture
 * in `figure` is, computed from the viewport's box, its scroll offsets and
 * the video's size (scale to fit letterboxes; 1:1 scrolls).
 * @param {import('playwright-core').Page} page
 * @param {number} fx @param {number} fy
 * @param {string} [figure] selector of the viewer's <figure>
 */
export async function viewerPoint(page, fx, fy, figure = "#screen-videos figure[data-source=screen]") {
  const g = await page.evaluate((sel) => {
    const vp = /** @type {HTMLElement} */ (document.querySelector(`${sel} .screen-viewport`));
    const v = /** @type {HTMLVideoElement} */ (vp.querySelector("video"));
    const b = vp.getBoundingClientRect();
    return {
      x: b.x + vp.clientLeft, y: b.y + vp.clientTop, w: vp.clientWidth, h: vp.clientHeight,
      sx: vp.scrollLeft, sy: vp.scrollTop, vw: v.videoWidth, vh: v.videoHeight, scale: vp.dataset.scale,
    };
  }, figure);
  let left, top, cw, ch;
  if (g.scale === "fit") {
    const k = Math.min(g.w / g.vw, g.h / g.vh);
    cw = g.vw * k;
    ch = g.vh * k;
    left = (g.w - cw) / 2;
    top = (g.h - ch) / 2;
  } else {
    cw = g.vw;
    ch = g.vh;
    left = Math.max(0, (g.w - cw) / 2);
    top = Math.max(0, (g.h - ch) / 2);
  }
  return { x: g.x + left + fx * cw - g.sx, y: g.y + top + fy * ch - g.sy, geometry: { ...g, left, top, cw, ch } };
}

/**
 * An init script (`context.addInitScript`): records the page's peer
 * connections (`window.__pcs`) and every text message it sends on a
 * `control*` channel (`window.__sent`: label, whether the test's own channel
 * sent it, the decoded message).
 */
export function recordControl() {
  const Original = window.RTCPeerConnection;
  // @ts-ignore test instrumentation
  window.__pcs = [];
  // @ts-ignore
  window.__sent = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      // @ts-ignore
      window.__pcs.push(this);
    }
  };
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    if (this.label.startsWith("control") && typeof data === "string") {
      // @ts-ignore
      window.__sent.push({ label: this.label, ours: this === window.__testControl, msg: JSON.parse(data) });
    }
    // @ts-ignore
    return send.call(this, data);
  };
}

/**
 * Opens the test's own `control` channel (reliable, ordered) on the page's
 * connected peer connection, as a controlling page would, whether or not
 * control was granted. Needs `recordControl`.
 * @param {import('playwright-core').Page} page
 */
export async function openTestControl(page) {
  await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        // @ts-ignore
        const pc = window.__pcs.find((p) => p.connectionState === "connected");
        if (!pc) return reject(new Error("no connected peer connection"));
        const channel = pc.createDataChannel("control", { ordered: true });
        // @ts-ignore
        window.__testControl = channel;
        channel.onopen = () => resolve(undefined);
        setTimeout(() => reject(new Error(`the test's control channel did not open: ${channel.readyState}`)), 10_000);
      }),
  );
}

/**
 * Sends control messages (docs/data-channels.md §6) on the test's own channel.
 * @param {import('playwright-core').Page} page
 * @param {object[]} messages
 */
export async function sendTestControl(page, messages) {
  await page.evaluate((ms) => {
    // @ts-ignore
    for (const m of ms) window.__testControl.send(JSON.stringify({ v: 1, ...m }));
  }, messages);
}

/** A left click at a normalized point: button down and up. @param {number} x @param {number} y */
export const click = (x, y) => [true, false].map((down) => ({ type: "button", at: { x, y }, button: "left", down }));

/** A key typing `text` (one lower-case letter): down and up. @param {string} letter */
export const keyStroke = (letter) =>
  [true, false].map((down) => ({ type: "key", code: `Key${letter.toUpperCase()}`, down, text: letter }));

/** What the page sent on control channels (the dashboard's own, not the test's). @param {import('playwright-core').Page} page */
export const sentByPage = (page) => page.evaluate(() => window.__sent.filter((s) => !s.ours).map((s) => ({ label: s.label, ...s.msg })));

/**
 * The colour of the decoded picture at the surface point (`fx`, `fy`) of the
 * video in `figure`, as [r, g, b] (drawn into a canvas at the video's size).
 * @param {import('playwright-core').Page} page
 * @param {number} fx @param {number} fy
 * @param {string} [figure] selector of the viewer's <figure>
 * @returns {Promise<number[]>}
 */
export function videoPixel(page, fx, fy, figure = "#screen-videos figure[data-source=screen]") {
  return page.evaluate(
    ([sel, x, y]) => {
      const v = /** @type {HTMLVideoElement} */ (document.querySelector(`${sel} video`));
      const c = document.createElement("canvas");
      c.width = v.videoWidth;
      c.height = v.videoHeight;
      const g = /** @type {CanvasRenderingContext2D} */ (c.getContext("2d"));
      g.drawImage(v, 0, 0);
      return Array.from(g.getImageData(Math.floor(x * (c.width - 1)), Math.floor(y * (c.height - 1)), 1, 1).data).slice(0, 3);
    },
    /** @type {[string, number, number]} */ ([figure, fx, fy]),
  );
}
