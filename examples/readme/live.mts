// The README's live pages. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService, maintenance, maintenanceBanner, maintenanceRoutes } from 'koa-maintenance-mode';
import { Container } from 'typedi';

Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));
const app = new Koa();
// #region readme
app.use(maintenance({ liveReload: { jitterMs: 10_000 }, retryAfterJitterSeconds: 60, announceBeforeSeconds: 3600 }));
app.use(maintenanceRoutes({ publicStatus: true }).routes()); // public.json, and now /events and /live.js
app.use((ctx) => {
  ctx.body = `<body>${maintenanceBanner(ctx.state)}<main>…</main></body>`; // the banner follows /events too
});
// #endregion

const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const service = Container.get(MaintenanceService);

// The site's pages carry the banner's script; the stream says what public.json says.
assert.match(await (await fetch(`${base}/`)).text(), /<script src="\/maintenance-mode\/live\.js\?v=[^"]+" defer data-role="banner"/);
const events = await fetch(`${base}/maintenance-mode/events`);
assert.equal(events.headers.get('content-type'), 'text/event-stream; charset=utf-8');
const reader = (events.body as ReadableStream<Uint8Array>).getReader();
let text = '';
const nextEvent = async () => {
  for (;;) {
    const at = text.indexOf('event: state\n');
    const end = at < 0 ? -1 : text.indexOf('\n\n', at);
    if (end >= 0) {
      const block = text.slice(at, end);
      text = text.slice(end + 2);
      return JSON.parse(block.split('\ndata: ')[1] as string) as { active: boolean };
    }
    const { value } = await reader.read();
    text += new TextDecoder().decode(value);
  }
};
assert.equal((await nextEvent()).active, false);
await service.enable({ message: 'Back soon' });
assert.deepEqual(await nextEvent(), { active: true, message: 'Back soon' });

// The 503 page follows the stream; its Retry-After is 3600 plus 0…60 seconds.
const page = await fetch(`${base}/`);
assert.equal(page.status, 503);
assert.match(await page.text(), /data-role="page" data-events="\/maintenance-mode\/events" data-jitter-ms="10000"/);
const retryAfter = Number(page.headers.get('retry-after'));
assert.ok(retryAfter >= 3600 && retryAfter <= 3660, String(retryAfter));
await service.disable();
assert.deepEqual(await nextEvent(), { active: false });
await reader.cancel();
server.close();
await service.close();
