// The README's announcement banner. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService, maintenance, maintenanceBanner } from 'koa-maintenance-mode';
import { Container } from 'typedi';

Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));
const app = new Koa();
// #region readme
app.use(maintenance({ announceBeforeSeconds: 6 * 3600 }));
// a Nunjucks view whose search path includes the package's views/:   {% include "maintenance-banner.html" %}
app.use((ctx) => {
  ctx.body = `<body>${maintenanceBanner(ctx.state)}<main>…</main></body>`;   // without Nunjucks
});
// #endregion

await Container.get(MaintenanceService).enable({
  start: new Date(Date.now() + 3600_000),
  message: { en: 'Planned database upgrade.', de: 'Geplante Datenbankaktualisierung.' },
});
const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const page = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`, {
  headers: { 'accept-language': 'de' },
});
const html = await page.text();
assert.match(html, /Geplante Wartung:/);
assert.match(html, /Geplante Datenbankaktualisierung\./);
server.close();
await Container.get(MaintenanceService).close();
