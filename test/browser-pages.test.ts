import { join } from 'node:path';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { type BrowserDemo, CHROMIUM, RESULTS, startBrowserDemo, unexpected } from './helpers/browser.js';
import { requireBinary } from './helpers/system.js';

/** A message that has broken layouts: a long URL and a long unbroken word, in two languages. */
const LONG = {
  en: `Details: https://status.example.com/incidents/2031/database-upgrade-and-migration-of-every-table-to-the-new-cluster ${'x'.repeat(180)}`,
  de: 'Einzelheiten: https://status.example.com/vorfaelle/datenbankaktualisierung-und-umzug-aller-tabellen',
};
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

/** Whether anything in the page is wider than its viewport (a horizontal scroll), and the widest offender. */
async function overflow(page: Page): Promise<{ scroll: boolean; offender: string }> {
  return page.evaluate(`(() => {
    const scroll = document.documentElement.scrollWidth > window.innerWidth;
    let offender = '';
    for (const el of document.querySelectorAll('main, section, table, td, p, dd')) {
      if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible') offender = el.tagName + '.' + el.className;
    }
    return { scroll, offender };
  })()`);
}

describe('in a real browser: what people read on the pages (#18)', function () {
  this.timeout(60_000);
  let demo: BrowserDemo;
  before(async function () {
    requireBinary(this, CHROMIUM, 'chromium');
    demo = await startBrowserDemo();
  });
  after(async () => demo?.close());
  afterEach(async () => demo?.service.disable({ by: 'test' }));

  it('wraps a long URL and an unbroken word inside the 503 card, on a phone and on a desktop', async () => {
    await demo.service.enable({ message: LONG, end: new Date(Date.now() + 3_600_000) });
    for (const [name, viewport] of [
      ['phone', PHONE],
      ['desktop', DESKTOP],
    ] as const) {
      const { page, problems } = await demo.newPage({ viewport });
      expect((await page.goto(`${demo.base}/`))?.status()).to.equal(503);
      expect(await overflow(page), name).to.deep.equal({ scroll: false, offender: '' });
      await page.screenshot({ path: join(RESULTS, `503-long-message-${name}.png`), fullPage: true });
      expect(unexpected(problems)).to.deep.equal([]);
    }
  });

  it("shows the History in the reader's language, wrapped inside its card, with the other languages named", async () => {
    await demo.service.enable({ message: LONG, by: 'ops' });
    for (const [name, viewport] of [
      ['phone', PHONE],
      ['desktop', DESKTOP],
    ] as const) {
      const { page, problems } = await demo.newPage({ viewport, locale: 'de-DE' });
      await demo.signIn(page);
      await page.goto(`${demo.base}/maintenance-mode/`);
      const history = (await page.textContent('#history-heading + table')) as string;
      expect(history).to.not.include('[object Object]');
      expect(history).to.include(LONG.de).and.include('(also in en)');
      expect(await overflow(page), name).to.deep.equal({ scroll: false, offender: '' });
      await page.screenshot({ path: join(RESULTS, `status-history-${name}.png`), fullPage: true });
      expect(problems).to.deep.equal([]);
    }
  });

  it('fits the Recurring windows table on a phone, Remove buttons in reach, each rule described in words', async () => {
    const ids = ['month-end-closing-for-finance', 'sunday-upkeep'];
    await demo.service.addWindow({
      id: ids[0],
      rrule: 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;INTERVAL=1;WKST=MO',
      tz: 'America/Argentina/ComodRivadavia',
      start: '22:00',
      durationMinutes: 90,
      message: LONG.de,
    });
    await demo.service.addWindow({
      id: ids[1],
      rrule: 'FREQ=WEEKLY;BYDAY=SU',
      tz: 'Europe/Berlin',
      start: '03:00',
      durationMinutes: 30,
    });
    try {
      const { page, problems } = await demo.newPage({ viewport: PHONE });
      await demo.signIn(page);
      await page.goto(`${demo.base}/maintenance-mode/`);
      expect(await overflow(page)).to.deep.equal({ scroll: false, offender: '' });
      for (const id of ids) {
        const box = await page.locator(`#window-${id} button`).boundingBox();
        expect(
          box && box.x >= 0 && box.x + box.width <= PHONE.width,
          `Remove of ${id}: ${JSON.stringify(box)}`,
        ).to.equal(true);
      }
      expect(await page.textContent(`#window-${ids[1]}`)).to.include('every week on Sunday at 3 AM Europe/Berlin');
      await page.screenshot({ path: join(RESULTS, 'status-windows-phone.png'), fullPage: true });
      expect(problems).to.deep.equal([]);
    } finally {
      for (const id of ids) await demo.service.removeWindow(id);
    }
  });

  it('ends the Japanese page with 。 and shows the local time with its zone', async () => {
    await demo.service.enable({ end: new Date(Date.now() + 3_600_000) });
    const { page, problems } = await demo.newPage({ locale: 'ja-JP' });
    expect((await page.goto(`${demo.base}/`))?.status()).to.equal(503);
    const eta = ((await page.textContent('.eta')) as string).replace(/\s+/g, ' ');
    expect(eta).to.match(/。/).and.not.match(/\d\. /);
    const time = (await page.textContent('#end')) as string;
    expect(time).to.match(/UTC|GMT|JST|[+-]\d/); // a zone next to the time
    await page.screenshot({ path: join(RESULTS, '503-ja.png') });
    expect(unexpected(problems)).to.deep.equal([]);
  });

  it('polishes the status page: the languages hint, a way back, a Scheduled badge unlike Off, a styled refusal', async () => {
    const { page, problems } = await demo.newPage();
    await demo.signIn(page);
    await page.goto(`${demo.base}/maintenance-mode/`);
    const offColor = await page.evaluate(`getComputedStyle(document.getElementById('summary')).color`);
    expect(await page.textContent('label[for=plan-messages] .hint')).to.match(/^Optional, one per line/);
    const labelLines = (await page.evaluate(
      `document.querySelector('label[for=plan-messages]').innerText.split('\\n').map((l) => l.trim())`,
    )) as string[];
    expect(labelLines).to.not.include(')');
    expect(await page.getAttribute('.back a', 'href')).to.equal('/');
    await demo.service.enable({ start: new Date(Date.now() + 3_600_000), message: 'Tonight' });
    await page.reload();
    expect(await page.textContent('#summary')).to.equal('Scheduled');
    const scheduledColor = await page.evaluate(`getComputedStyle(document.getElementById('summary')).color`);
    expect(scheduledColor).to.not.equal(offColor);
    await page.screenshot({ path: join(RESULTS, 'status-page-scheduled.png'), fullPage: true });

    const anonymous = await demo.newPage();
    expect((await anonymous.page.goto(`${demo.base}/maintenance-mode/`))?.status()).to.equal(403);
    expect(await anonymous.page.textContent('h1')).to.equal('Not allowed');
    expect(await anonymous.page.evaluate('getComputedStyle(document.querySelector("main")).borderRadius')).to.not.equal(
      '0px',
    );
    await anonymous.page.screenshot({ path: join(RESULTS, 'status-page-refused.png') });
    expect(problems).to.deep.equal([]);
  });

  it("lines up the demo's sign-in fields and names the scope in the superuser's banner", async () => {
    const { page, problems } = await demo.newPage();
    await page.goto(`${demo.base}/login`);
    const boxes = await Promise.all(['#username', '#password'].map((s) => page.locator(s).boundingBox()));
    expect(boxes[0]?.x).to.equal(boxes[1]?.x);
    expect(boxes[0]?.width).to.equal(boxes[1]?.width);
    await page.screenshot({ path: join(RESULTS, 'demo-sign-in.png') });
    await demo.signIn(page);
    await demo.service.enable({ scope: 'checkout' });
    await page.goto(`${demo.base}/checkout`);
    expect(await page.textContent('.banner')).to.include('Maintenance mode is on for checkout');
    await page.screenshot({ path: join(RESULTS, 'demo-scoped-banner.png') });
    await demo.service.disable({ scope: 'checkout' });
    expect(problems).to.deep.equal([]);
  });
});
