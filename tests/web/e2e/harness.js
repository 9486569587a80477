// Shared harness for the end-to-end tests: the real signaling server (built
// with cargo, on 127.0.0.1 port 0, in a temp data dir, with one CSR account)
// and Debian's Chromium through playwright-core. Everything started here is
// stopped by `close()`, which the tests call in `after` (also on failure).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const CSR_NAME = "carla";
export const CSR_PASSWORD = "correct horse battery";
/** How long any single expected event may take. */
export const DEADLINE_MS = 15_000;

/**
 * Polls `check` until it returns a truthy value, or fails with `what` after the deadline.
 * @template T
 * @param {string} what
 * @param {() => Promise<T> | T} check
 * @param {number} [deadlineMs]
 * @returns {Promise<T>}
 */
export async function until(what, check, deadlineMs = DEADLINE_MS) {
  const start = Date.now();
  const end = start + deadlineMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) {
        if (process.env.TANDEM_E2E_TIMING) console.error(`${Date.now() - start} ms (at ${Math.round(performance.now())}): ${what}`);
        return v;
      }
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function run(bin, args, input) {
  return execFileSync(bin, args, { cwd: ROOT, input, stdio: ["pipe", "pipe", "pipe"] });
}

/**
 * Starts server and browser; returns handles and a `close()` that undoes everything.
 * @param {{ config?: string }} [options] `config`: TOML for the server's `--config` file
 */
/**
 * Debian's Chromium, headless, with fake media devices and nothing reaching
 * out to the Internet; `extraArgs` are appended.
 * @param {string[]} [extraArgs]
 */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      "--autoplay-policy=no-user-gesture-required",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

export async function startWorld(options = {}) {
  const cleanups = [];
  const close = async () => {
    for (const c of cleanups.reverse()) {
      const t0 = Date.now();
      try {
        await c();
        if (process.env.TANDEM_E2E_TIMING) console.error(`cleanup ${Date.now() - t0} ms`);
      } catch (err) {
        console.error("cleanup:", err);
      }
    }
  };
  try {
    const t0 = Date.now();
    // TANDEM_E2E_NO_BUILD=1 runs the server binary already built (e.g. while the tree is mid-edit).
    if (!process.env.TANDEM_E2E_NO_BUILD) run("cargo", ["build", "--quiet", "-p", "tandem-signaling"]);
    if (process.env.TANDEM_E2E_TIMING) console.error(`cargo build: ${Date.now() - t0} ms`);
    const bin = join(ROOT, "target", "debug", "tandem-signaling");
    const dataDir = mkdtempSync(join(tmpdir(), "tandem-e2e-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    run(bin, ["--data-dir", dataDir, "agent", "add", CSR_NAME, "--password-stdin"], `${CSR_PASSWORD}\n`);

    const configArgs = [];
    if (options.config) {
      const configPath = join(dataDir, "config.toml");
      writeFileSync(configPath, options.config);
      configArgs.push("--config", configPath);
    }
    const server = spawn(bin, ["--data-dir", dataDir, ...configArgs, "serve", "--listen", "127.0.0.1:0", "--web-root", join(ROOT, "web")], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let serverLog = "";
    cleanups.push(
      () =>
        new Promise((resolve) => {
          if (server.exitCode !== null || server.signalCode !== null) return resolve(undefined);
          server.once("exit", () => resolve(undefined));
          server.kill("SIGTERM");
          setTimeout(() => server.kill("SIGKILL"), 5000).unref();
        }),
    );
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${serverLog}`)), DEADLINE_MS);
      server.stderr.setEncoding("utf8");
      server.stderr.on("data", (chunk) => {
        serverLog += chunk;
        const m = /Tandem is running at (\S+)/.exec(serverLog);
        if (m) {
          clearTimeout(timer);
          resolve(m[1].replace(/\/$/, ""));
        }
      });
      server.once("exit", (code) => reject(new Error(`server exited with ${code}:\n${serverLog}`)));
    });

    const userDataDir = mkdtempSync(join(tmpdir(), "tandem-chromium-"));
    cleanups.push(() => rmSync(userDataDir, { recursive: true, force: true }));
    const browser = await launchChromium();
    cleanups.push(() => browser.close());

    /** A new page in its own context (separate storage: another person). */
    const newPage = async (name, options = {}) => {
      const context = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 800 }, ...options });
      const page = await context.newPage();
      const dialogs = [];
      const errors = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`${name} console: ${m.text()}`);
      });
      return { page, context, dialogs, errors };
    };
    return { url, browser, newPage, close, serverLog: () => serverLog };
  } catch (err) {
    await close();
    throw err;
  }
}
