/**
 * The browser side of the web UI tests: Debian's Chromium driven by playwright-core (no browser
 * download), a fresh context per user, every Content-Security-Policy violation and uncaught page
 * error collected for the suite's last assertion, and the helpers each suite needs — users with a
 * password, logging in, polling, screenshots.
 *
 * Screenshots go to test-results/screenshots/ (git-ignored); with CERTKEEPER_UPDATE_SCREENSHOTS=1
 * they are also copied to docs/screenshots/, which docs/ui.md and the README show.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { CertkeeperHandle } from '../harness/certkeeper.js';

/** The Chromium binary: Debian's, or CERTKEEPER_CHROMIUM. */
export const CHROMIUM = process.env.CERTKEEPER_CHROMIUM ?? '/usr/bin/chromium';
/** The repository's root. */
export const ROOT = new URL('../../', import.meta.url).pathname;
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const DOC_SHOTS = join(ROOT, 'docs', 'screenshots');
/** The password every test user gets. */
export const PASSWORD = 'correct horse battery staple';

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (p === join(ROOT, 'web', 'dist')) continue;
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds the UI when it is missing or older than its sources (npm test does this already). */
export function ensureUiBuilt(): void {
  const index = join(ROOT, 'web', 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(join(ROOT, 'web'))) return;
  execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: ROOT, stdio: 'inherit' });
}

/** Options of {@link UiBrowser.newPage}. */
export interface PageOptions {
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
}

/** A running Chromium and what its pages did wrong. */
export interface UiBrowser {
  browser: Browser;
  /** Content-Security-Policy violations and uncaught errors seen by any page. */
  problems: string[];
  /** A fresh context (its own cookies: another user, or the same user elsewhere) with one page. */
  newPage(options?: PageOptions): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/**
 * Checks that Chromium is installed, builds the UI if needed, and starts launching the browser;
 * await the result after starting the servers, so the two overlap.
 */
export function launchUiBrowser(): Promise<UiBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the web UI tests drive Chromium at ${CHROMIUM}, which is missing: install the Debian package "chromium" ` +
      '(apt-get update && apt-get install -y chromium), or point CERTKEEPER_CHROMIUM at a Chromium binary');
  }
  ensureUiBuilt();
  const launching = chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'] });
  return launching.then((browser) => {
    const problems: string[] = [];
    return {
      browser,
      problems,
      async newPage({ viewport = { width: 1280, height: 800 }, colorScheme = 'light' }: PageOptions = {}) {
        const context = await browser.newContext({ viewport, colorScheme, acceptDownloads: true, ...(viewport.width < 600 ? { isMobile: true, hasTouch: true } : {}) });
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        page.on('console', (m) => {
          if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        return { context, page };
      },
      close: () => browser.close(),
    };
  });
}

/** Invites a user through the API and sets their password with the invitation. */
export async function newUser(ck: CertkeeperHandle, email: string, role: 'viewer' | 'operator' | 'admin', password = PASSWORD): Promise<void> {
  const invited = await ck.api('POST', '/api/v1/users', { properties: { email, role } });
  assert.equal(invited.status, 201, invited.text);
  const activated = await ck.api('POST', '/api/v1/users/activate', { invitation: invited.body.properties.invitation.token, password });
  assert.ok(activated.status < 300, activated.text);
}

/**
 * Opens the UI and logs in through the form, ending on the dashboard. `expectLoginRedirect`
 * also checks that `/` first sent the browser to the login page with `next=/`.
 */
export async function login(page: Page, ck: CertkeeperHandle, email: string, { password = PASSWORD, expectLoginRedirect = false } = {}): Promise<void> {
  await page.goto(`${ck.url}/`);
  if (expectLoginRedirect) await page.waitForURL(/\/login\?next=%2F$/);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
}

/** Polls `check` until it holds (a list keeps its old rows on screen while the next page loads). */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check());) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A full-page screenshot to test-results/screenshots/ (and docs/screenshots/ when asked). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(SHOTS, `${name}.png`);
  // From the top: a full-page picture of a scrolled page shows the sticky header mid-page.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.CERTKEEPER_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOC_SHOTS, { recursive: true });
    copyFileSync(file, join(DOC_SHOTS, `${name}.png`));
  }
}

/** The main navigation of the page. */
export const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });

/** The id at the end of the page's path (`/dns-zones/<id>`). */
export const idInUrl = (page: Page) => decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
