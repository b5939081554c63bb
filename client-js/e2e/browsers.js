// The browsers of the end-to-end tests: headless Chromium driven by
// playwright-core over CDP, and Firefox ESR driven by puppeteer-core over
// WebDriver BiDi. Each launch gets a fresh profile directory, removed with
// the browser. Tests see one page interface whatever the browser (the
// playwright spelling): goto(url), evaluate(fn, arg), waitForFunction(fn,
// arg, { timeout, polling }), waitForTimeout(ms), screenshot(opts),
// problems (uncaught errors and console errors), raw (the driver's page).
//
// Both browsers are kept off the network: Chromium by its switches,
// Firefox by the prefs below (no updates, telemetry, safe browsing,
// captive-portal or connectivity checks, remote settings, DoH, prefetch,
// speculative connections), and neither looks a name up through this
// machine's resolver (Chromium's host resolver rules, Firefox's
// native-is-localhost). The pages only ever load from loopback and the
// relay's namespace address (netns.js), and Firefox's ICE gathers on the
// veth to that namespace too (the microphone permission below).

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';

/** The browsers the suite runs in: E2E_BROWSERS (comma list), default both. */
export const BROWSERS = (process.env.E2E_BROWSERS ?? 'chromium,firefox')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-default-apps',
  '--no-default-browser-check',
  '--metrics-recording-only',
  '--no-pings',
  '--dns-prefetch-disable',
  // no name lookups at all (sign-in and updater hosts would still be looked
  // up through this machine's resolver): the tests use IP addresses only
  // (the rules match IP literals too: the test addresses are excluded)
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE 10.231.*',
];

/** Firefox prefs: nothing but the pages' own requests leaves the browser. */
export const FIREFOX_PREFS = {
  'app.update.enabled': false,
  'app.update.auto': false,
  'app.update.disabledForTesting': true,
  'app.normandy.enabled': false,
  'app.normandy.api_url': '',
  'app.shield.optoutstudies.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.downloads.remote.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.provider.google.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.safebrowsing.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'captivedetect.canonicalURL': '',
  'network.connectivity-service.enabled': false,
  'network.trr.mode': 5,
  // every name resolves to 127.0.0.1 without a lookup (remote settings and
  // the like would otherwise ask this machine's resolver): the tests use IP
  // addresses only, and whatever a background service tries stays on loopback
  'network.dns.native-is-localhost': true,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'network.http.speculative-parallel-limit': 0,
  'network.proxy.type': 0,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': '',
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'browser.ping-centre.telemetry': false,
  'browser.newtabpage.enabled': false,
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.newtabpage.activity-stream.feeds.section.topstories': false,
  'browser.newtabpage.activity-stream.feeds.snippets': false,
  'browser.startup.page': 0,
  'browser.startup.homepage': 'about:blank',
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.aboutHomeSnippets.updateUrl': '',
  'browser.search.update': false,
  'browser.search.geoip.url': '',
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'geo.provider.network.url': '',
  'geo.enabled': false,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'extensions.blocklist.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'services.settings.server': '',
  'media.gmp-manager.updateEnabled': false,
  'media.gmp-manager.url': '',
  'media.gmp-gmpopenh264.enabled': false,
  'media.gmp-widevinecdm.enabled': false,
  'security.OCSP.enabled': 0,
  'security.remote_settings.crlite_filters.enabled': false,
  'security.remote_settings.intermediates.enabled': false,
  'dom.push.enabled': false,
  'dom.push.connection.enabled': false,
  'browser.contentblocking.report.monitor.enabled': false,
  'privacy.trackingprotection.enabled': false,
  'network.cookie.cookieBehavior': 0,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.healthreport.service.enabled': false,
  'browser.discovery.enabled': false,
  'browser.topsites.contile.enabled': false,
  // real addresses in the browser's candidates (diagnostics; nothing leaves the machine)
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // ICE host candidates on every interface, the veth to the relay's namespace
  // included (netns.js). Firefox restricts a page to the default route's
  // interface unless the page is capturing or has a camera/microphone
  // permission (PeerConnectionImpl: default_address_only |=
  // !IsActivelyCapturingOrHasAPermission); default_address_only only adds to
  // that restriction, it cannot lift it. A microphone permission granted by
  // default lifts it for every test page, the relay's own demo page
  // included, without any page calling getUserMedia. Fake streams: were a
  // page to call it, it would get a synthetic device, never a real one.
  'media.peerconnection.ice.default_address_only': false,
  'permissions.default.microphone': 1,
  'media.navigator.streams.fake': true,
  // service workers on the loopback test origins
  'dom.serviceWorkers.enabled': true,
  'dom.serviceWorkers.testing.enabled': true,
};

/** Why browser cannot run here, or null. */
export function browserMissing(browser) {
  const nm = (pkg) => existsSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url));
  if (browser === 'chromium') {
    if (!existsSync(CHROMIUM)) return `${CHROMIUM} missing (apt-get install -y chromium)`;
    if (!nm('playwright-core')) return 'playwright-core missing (cd client-js && npm ci)';
    return null;
  }
  if (browser === 'firefox') {
    if (!existsSync(FIREFOX)) return `${FIREFOX} missing (apt-get install -y firefox-esr)`;
    if (!nm('puppeteer-core')) return 'puppeteer-core missing (cd client-js && npm ci)';
    return null;
  }
  return `unknown browser ${browser}`;
}

/** Collect a page's uncaught errors and console errors in page.problems (printed by tests that fail). */
function watch(page, raw = page) {
  const problems = [];
  raw.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  raw.on('console', (m) => {
    if (m.type() === 'error' || process.env.E2E_VERBOSE) problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.problems = problems;
  return page;
}

/** A puppeteer page behind the playwright spelling the tests use. */
class PuppeteerPage {
  constructor(page) {
    this.raw = page;
  }

  goto(url, opts = {}) {
    return this.raw.goto(url, { waitUntil: opts.waitUntil ?? 'load', timeout: opts.timeout ?? 30_000 });
  }

  evaluate(fn, arg) {
    return this.raw.evaluate(fn, arg);
  }

  async waitForFunction(fn, arg, opts = {}) {
    const polling = typeof opts.polling === 'number' ? opts.polling : 100;
    return this.raw.waitForFunction(fn, { timeout: opts.timeout ?? 30_000, polling }, arg);
  }

  waitForTimeout(ms) {
    return new Promise((r) => setTimeout(r, ms));
  }

  screenshot(opts) {
    return this.raw.screenshot(opts);
  }

  close() {
    return this.raw.close();
  }
}

async function launchChromium(dir, viewport, { args = [], insecureCerts = false } = {}) {
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    viewport,
    ignoreHTTPSErrors: insecureCerts,
  });
  const wrap = (p) => {
    p.raw = p;
    return watch(p);
  };
  return {
    first: wrap(context.pages()[0] ?? (await context.newPage())),
    newPage: async () => wrap(await context.newPage()),
    close: () => context.close(),
  };
}

/** Throws unless the profile Firefox runs with (dir) sets every one of prefs in its user.js. */
async function checkPrefs(dir, prefs) {
  const userJS = await readFile(join(dir, 'user.js'), 'utf8');
  const set = new Map([...userJS.matchAll(/^user_pref\("([^"]+)",\s*(.*)\);$/gm)].map((m) => [m[1], m[2]]));
  const wrong = Object.entries(prefs).filter(([k, v]) => set.get(k) !== JSON.stringify(v));
  if (wrong.length) throw new Error(`Firefox profile ${dir}: user.js lacks ${wrong.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`);
}

async function launchFirefox(dir, viewport, { prefs = {}, insecureCerts = false } = {}) {
  const { default: puppeteer } = await import('puppeteer-core');
  const all = { ...FIREFOX_PREFS, ...prefs };
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    userDataDir: dir,
    defaultViewport: viewport,
    extraPrefsFirefox: all,
    acceptInsecureCerts: insecureCerts,
    args: ['--no-remote'],
  });
  try {
    await checkPrefs(dir, all);
  } catch (e) {
    await browser.close().catch(() => {});
    throw e;
  }
  const wrap = (p) => watch(new PuppeteerPage(p), p);
  const pages = await browser.pages();
  return {
    first: wrap(pages[0] ?? (await browser.newPage())),
    newPage: async () => wrap(await browser.newPage()),
    close: () => browser.close(),
  };
}

/**
 * A fresh headless browser (chromium or firefox) with its own new profile
 * directory: no cache, storage or connections shared with any other.
 * Closed and its profile removed on t.after. Returns { context: { newPage }, page }.
 * Extras (the browser bench's): args (more Chromium switches), prefs (more
 * Firefox prefs), insecureCerts (accept self-signed TLS certificates).
 */
export async function launchBrowser(t, { browser = 'chromium', viewport = { width: 1280, height: 900 }, args, prefs, insecureCerts } = {}) {
  const dir = await mkdtemp(join(tmpdir(), `p2pcache-e2e-${browser}-`));
  let b;
  try {
    b = browser === 'firefox' ? await launchFirefox(dir, viewport, { prefs, insecureCerts }) : await launchChromium(dir, viewport, { args, insecureCerts });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  t.after(async () => {
    await b.close().catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  });
  return { context: { newPage: b.newPage }, page: b.first, browser };
}
