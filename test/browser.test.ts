import { join } from 'node:path';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import type { MaintenanceService } from '../src/index.js';
import { type BrowserDemo, CHROMIUM, RESULTS, startBrowserDemo, unexpected } from './helpers/browser.js';
import { requireBinary } from './helpers/system.js';

describe('in a real browser: the demo, the status page and the 503 page', function () {
  this.timeout(60_000);
  let demo: BrowserDemo;
  let base: string;
  let browser: Browser;
  let service: MaintenanceService;
  const contexts: Array<{ close(): Promise<void> }> = [];

  before(async function () {
    requireBinary(this, CHROMIUM, 'chromium');
    demo = await startBrowserDemo();
    ({ base, browser, service } = demo);
  });
  after(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await demo?.close(); // undefined when skipped: chromium is not installed
  });

  const newPage = (viewport = { width: 1280, height: 800 }) => demo.newPage({ viewport });

  it('lets the superuser switch maintenance on and off from the status page while visitors see the 503 page', async () => {
    const admin = await newPage();
    await demo.signIn(admin.page);
    expect(await admin.page.textContent('header')).to.include('Signed in as demo');

    await admin.page.goto(`${base}/maintenance-mode/`);
    expect(await admin.page.textContent('#summary')).to.equal('Off');
    await admin.page.fill('#message', 'We are upgrading the database. Back in an hour.');
    await Promise.all([admin.page.waitForURL(`${base}/maintenance-mode/`), admin.page.click('#switch-on')]);
    expect(await admin.page.textContent('#summary')).to.equal('On');
    expect(await admin.page.textContent('#history-heading + table'))
      .to.include('off → on')
      .and.include('demo');
    await admin.page.screenshot({ path: join(RESULTS, 'status-page.png'), fullPage: true });

    // The superuser still sees the site (ignoreSuperuser), with a banner.
    await admin.page.goto(`${base}/`);
    expect(await admin.page.textContent('.banner')).to.include('Maintenance mode is on');

    const visitor = await newPage();
    const response = await visitor.page.goto(`${base}/`);
    expect(response?.status()).to.equal(503);
    expect(await visitor.page.title()).to.equal('Down for maintenance');
    expect(await visitor.page.textContent('h1')).to.equal('We’ll be back soon');
    expect(await visitor.page.textContent('.message')).to.equal('We are upgrading the database. Back in an hour.');
    expect(await visitor.page.getAttribute('html', 'lang')).to.equal('en');
    await visitor.page.screenshot({ path: join(RESULTS, '503-desktop.png') });

    await admin.page.goto(`${base}/maintenance-mode/`);
    // The visitor's page comes back by itself (live pages, within the demo's 10 s jitter): no reload by hand.
    const back = visitor.page.waitForResponse((r) => r.url() === `${base}/` && r.status() === 200, {
      timeout: 30_000,
    });
    await Promise.all([admin.page.waitForURL(`${base}/maintenance-mode/`), admin.page.click('#switch-off')]);
    expect(await admin.page.textContent('#summary')).to.equal('Off');
    await back;

    expect(admin.problems).to.deep.equal([]);
    expect(unexpected(visitor.problems)).to.deep.equal([]);
  });

  it('plans a window from the status page: the banner announces it, the 503 page follows, then it is switched off', async () => {
    const admin = await newPage();
    await demo.signIn(admin.page);
    await admin.page.goto(`${base}/maintenance-mode/`);
    // Five seconds ahead (time for the steps before it on a loaded machine), in UTC as the form says.
    const start = new Date(Math.ceil(Date.now() / 1000) * 1000 + 5000);
    const end = new Date(start.getTime() + 3_600_000);
    // What a datetime-local input holds: Chromium drops ":00" seconds (and refuses a value that keeps them).
    const local = (d: Date) => d.toISOString().slice(0, 19).replace(/:00$/, '');
    await admin.page.fill('#plan-start', local(start));
    await admin.page.fill('#plan-end', local(end));
    await admin.page.fill('#plan-message', 'Planned database upgrade.');
    await Promise.all([admin.page.waitForURL(`${base}/maintenance-mode/`), admin.page.click('#plan-submit')]);
    expect(await admin.page.textContent('#summary')).to.equal('Scheduled');
    await admin.page.screenshot({ path: join(RESULTS, 'status-page-planned.png'), fullPage: true });

    const visitor = await newPage();
    const before = await visitor.page.goto(`${base}/`);
    expect(before?.status()).to.equal(200);
    const banner = await visitor.page.textContent('.maintenance-banner');
    expect(banner).to.include('Scheduled maintenance');
    // The start as people read it, the zone named (not an HTTP date), on a <time> that carries the instant.
    expect(await visitor.page.getAttribute('.maintenance-banner time', 'datetime')).to.equal(start.toISOString());
    const shown = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(start);
    expect(await visitor.page.textContent('.maintenance-banner time'))
      .to.include(shown)
      .and.match(/UTC$/);
    expect(banner).to.include('Planned database upgrade.');
    await visitor.page.screenshot({ path: join(RESULTS, 'banner.png') });

    const wait = start.getTime() - Date.now() + 100;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const during = await visitor.page.reload();
    expect(during?.status()).to.equal(503);
    expect(await visitor.page.textContent('.message')).to.equal('Planned database upgrade.');
    await visitor.page.screenshot({ path: join(RESULTS, '503-planned.png') });

    await admin.page.goto(`${base}/maintenance-mode/`);
    expect(await admin.page.textContent('#summary')).to.equal('On');
    // The visitor's 503 page comes back by itself (live pages, within the demo's 10 s jitter): no reload by hand.
    const back = visitor.page.waitForResponse((r) => r.url() === `${base}/` && r.status() === 200, {
      timeout: 30_000,
    });
    const loaded = visitor.page.waitForEvent('load', { timeout: 30_000 });
    await Promise.all([admin.page.waitForURL(`${base}/maintenance-mode/`), admin.page.click('#switch-off')]);
    await back;
    await loaded;
    expect(await visitor.page.$('.maintenance-banner:not([hidden])')).to.equal(null);
    expect(admin.problems).to.deep.equal([]);
    expect(unexpected(visitor.problems)).to.deep.equal([]);
  });

  it('shows the expected end and a live countdown, on a phone-sized screen and in dark mode', async () => {
    const end = new Date(Date.now() + 90 * 60_000);
    await service.enable({ message: 'Moving to a bigger server.', end, by: 'ops' });
    try {
      const mobile = await newPage({ width: 390, height: 844 });
      const res = await mobile.page.goto(`${base}/about`);
      expect(res?.status()).to.equal(503);
      expect(res?.headers()['retry-after']).to.equal(end.toUTCString());
      const first = await mobile.page.textContent('#countdown');
      expect(first).to.match(/^1:(29|30):\d\d left$/);
      // Browser-side code as strings: this file is compiled without DOM types.
      await mobile.page.waitForFunction(
        `document.getElementById('countdown').textContent !== ${JSON.stringify(first)}`,
      );
      expect(await mobile.page.getAttribute('#end', 'datetime')).to.equal(end.toISOString());
      const overflow = await mobile.page.evaluate('document.documentElement.scrollWidth > window.innerWidth');
      expect(overflow).to.equal(false);
      await mobile.page.screenshot({ path: join(RESULTS, '503-mobile.png') });

      const dark = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
      contexts.push(dark);
      const darkPage = await dark.newPage();
      await darkPage.goto(`${base}/`);
      const bg = await darkPage.evaluate('getComputedStyle(document.body).backgroundColor');
      expect(bg).to.equal('rgb(15, 18, 24)');
      await darkPage.screenshot({ path: join(RESULTS, '503-dark.png') });
      expect(unexpected(mobile.problems)).to.deep.equal([]);
    } finally {
      await service.disable({ by: 'ops' });
    }
  });

  it('keeps the page readable without JavaScript', async () => {
    const end = new Date(Date.now() + 30 * 60_000);
    await service.enable({ end });
    try {
      const context = await browser.newContext({ javaScriptEnabled: false });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${base}/`);
      expect(await page.textContent('#end')).to.equal(end.toUTCString());
      expect(await page.textContent('h1')).to.equal('We’ll be back soon');
    } finally {
      await service.disable();
    }
  });

  it('adds a recurring window from the status page, lists its next occurrences in its zone and the reader’s, removes it', async () => {
    const admin = await newPage();
    await demo.signIn(admin.page);
    await admin.page.goto(`${base}/maintenance-mode/`);
    await admin.page.fill('#window-rrule', 'FREQ=WEEKLY;BYDAY=SU');
    await admin.page.fill('#window-tz', 'Europe/Berlin');
    await admin.page.fill('#window-start', '03:00');
    await admin.page.fill('#window-duration', '45');
    await admin.page.fill('#window-message', 'Sunday upkeep');
    await Promise.all([admin.page.waitForURL(`${base}/maintenance-mode/`), admin.page.click('#window-submit')]);
    const [w] = await service.windows();
    expect(w).to.include({ rrule: 'FREQ=WEEKLY;BYDAY=SU', tz: 'Europe/Berlin', durationMinutes: 45 });
    const row = await admin.page.textContent(`#window-${w?.id}`);
    expect(row)
      .to.include('Sunday upkeep')
      .and.match(/\d{4}-\d{2}-\d{2} 03:00 Europe\/Berlin/);
    // The reader's zone too: the page's script rewrites each <time> in the browser's zone.
    const readers = await admin.page.$$eval(`#window-${w?.id} time`, (els) => els.map((e) => e.textContent ?? ''));
    expect(readers).to.have.length(3);
    for (const text of readers) expect(text).to.not.match(/^\d{4}-\d{2}-\d{2}T/);
    await admin.page.screenshot({ path: join(RESULTS, 'status-page-windows.png'), fullPage: true });
    await Promise.all([
      admin.page.waitForURL(`${base}/maintenance-mode/`),
      admin.page.click(`#window-${w?.id} button`),
    ]);
    expect(await service.windows()).to.deep.equal([]);
    expect(await admin.page.textContent('#windows-heading + p')).to.equal('No recurring windows.');
    expect(admin.problems).to.deep.equal([]);
  });
});
