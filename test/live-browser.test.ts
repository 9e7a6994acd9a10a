import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type MaintenanceService, maintenance, maintenanceBanner, maintenanceRoutes } from '../src/index.js';
import { memoryService } from './helpers/app.js';
import { CHROMIUM, launchChromium, unexpected, watch } from './helpers/browser.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, until } from './helpers/wait.js';

/** The longest random delay before an open 503 page returns: small, so the test is quick. */
const JITTER_MS = 1500;
const CSP = "script-src 'self'";

/** A shop under a strict CSP with live pages; counts the open `/events` streams (what a page follows). */
async function liveShop(service: MaintenanceService) {
  const app = new Koa();
  app.silent = true;
  let streams = 0;
  app.use(async (ctx, next) => {
    ctx.set('Content-Security-Policy', CSP);
    if (ctx.path.endsWith('/events')) {
      streams++;
      ctx.res.once('close', () => streams--);
    }
    await next();
  });
  app.use(maintenance({ service, liveReload: { jitterMs: JITTER_MS }, announceBeforeSeconds: 7200 }));
  app.use(maintenanceRoutes({ service, publicStatus: true }).routes());
  app.use((ctx) => {
    if (ctx.path !== '/') return;
    ctx.type = 'html';
    ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Shop</title></head>
<body>${maintenanceBanner(ctx.state)}<main id="shop">The shop</main></body></html>`;
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, streams: () => streams };
}

/** A page's problems, less the end of its event stream when the page navigates (Chromium reports it aborted). */
const problemsOf = (problems: string[]) =>
  unexpected(problems).filter((p) => !/^requestfailed: \S+\/events\S* net::ERR_ABORTED$/.test(p));

describe('live pages in a real browser: Chromium under a strict CSP (#34)', function () {
  this.timeout(60_000);
  let browser: Browser;
  let shop: Awaited<ReturnType<typeof liveShop>>;
  let service: MaintenanceService;
  const contexts: BrowserContext[] = [];

  before(async function () {
    requireBinary(this, CHROMIUM, 'chromium');
    browser = await launchChromium();
  });
  after(async () => browser?.close());
  beforeEach(async () => {
    service = memoryService();
    shop = await liveShop(service);
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    shop.server.closeAllConnections();
    await new Promise((r) => shop.server.close(r));
    await service.close();
  });

  async function open(options: { javaScriptEnabled?: boolean } = {}): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext(options);
    contexts.push(context);
    const page = await context.newPage();
    return { page, problems: watch(page) };
  }

  it('returns an open 503 page to the site by itself within jitterMs of disable(), no reload by hand', async () => {
    await service.enable({ message: 'Moving house', end: new Date(Date.now() + 3_600_000) });
    const { page, problems } = await open();
    expect((await page.goto(`${shop.base}/`))?.status()).to.equal(503);
    // The countdown is the live script's work: it ran under script-src 'self'.
    await page.waitForFunction(`/left$/.test(document.getElementById('countdown').textContent)`);
    await until(() => shop.streams() === 1, PATIENCE_MS);
    const back = page.waitForResponse((r) => r.url() === `${shop.base}/` && r.status() === 200, {
      timeout: PATIENCE_MS,
    });
    const t0 = performance.now();
    await service.disable();
    await back;
    const ms = performance.now() - t0;
    await page.waitForSelector('#shop');
    // At most the jitter, plus a margin for two busy cores (the event, the navigation, the page's load).
    expect(ms).to.be.below(JITTER_MS + 5000);
    expect(problemsOf(problems)).to.deep.equal([]);
  });

  it('shows, changes and hides the banner as a window is planned, edited and cancelled, without a reload', async () => {
    const { page, problems } = await open();
    expect((await page.goto(`${shop.base}/`))?.status()).to.equal(200);
    expect(await page.isHidden('.maintenance-banner')).to.equal(true);
    await page.evaluate('window.stayed = true');
    await until(() => shop.streams() === 1, PATIENCE_MS);

    const start = new Date(Date.now() + 3_600_000);
    await service.enable({ start, message: 'Database upgrade' });
    await page.waitForSelector('.maintenance-banner:not([hidden])');
    const shown = (await page.textContent('.maintenance-banner')) as string;
    expect(shown).to.include('Scheduled maintenance:').and.include('Database upgrade');
    expect(await page.getAttribute('.maintenance-banner time', 'datetime')).to.equal(start.toISOString());

    await service.enable({ start, message: 'Database upgrade, then a reboot' });
    await page.waitForFunction(`document.querySelector('.maintenance-banner').textContent.includes('then a reboot')`);

    await service.disable();
    await page.waitForSelector('.maintenance-banner', { state: 'hidden' });
    expect(await page.evaluate('window.stayed')).to.equal(true); // the same document: nothing reloaded
    expect(problemsOf(problems)).to.deep.equal([]);
  });

  it('leaves a page without JavaScript as it is: no stream, no script, no reload', async () => {
    await service.enable({ message: 'Moving house' });
    const { page, problems } = await open({ javaScriptEnabled: false });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    expect((await page.goto(`${shop.base}/`))?.status()).to.equal(503);
    await service.disable();
    // The site is back for a browser that runs the script…
    const { page: other } = await open();
    expect((await other.goto(`${shop.base}/`))?.status()).to.equal(200);
    // …while this page still shows what it was sent, having asked for nothing more.
    expect(await page.textContent('.message')).to.equal('Moving house');
    expect(requests).to.deep.equal([`${shop.base}/`]);
    expect(unexpected(problems)).to.deep.equal([]);
  });
});
