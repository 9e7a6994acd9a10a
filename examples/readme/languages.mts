// The README's languages. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Keyv from 'keyv';
import Koa from 'koa';
import { CATALOGS, MaintenanceService, maintenance } from 'koa-maintenance-mode';

const service = new MaintenanceService({ store: new Keyv() });
const app = new Koa();
// #region readme
await service.enable({ message: { en: 'Back at 3am UTC', de: 'Um 3 Uhr UTC wieder da', ja: '午前3時（UTC）に再開します' } });
// CLI: maintenance-mode on --message "Back at 3am UTC" --message-in "de=Um 3 Uhr UTC wieder da"
// status page: "In other languages", one "de: …" line each
app.use(maintenance({
  service,
  translations: {
    de: { heading: 'Gleich wieder da' },                       // override one text
    sv: { ...CATALOGS.en, heading: 'Vi är snart tillbaka' },   // add a language: every key
  },
  locales: ['en', 'de', 'sv'],   // restrict the choice (default: every catalog)
  defaultLocale: 'en',
}));
// #endregion

const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const get = (lang: string) =>
  fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`, { headers: { 'accept-language': lang } });
const de = await (await get('de-AT')).text();
assert.match(de, /Gleich wieder da/);
assert.match(de, /Um 3 Uhr UTC wieder da/);
assert.match(await (await get('sv')).text(), /Vi är snart tillbaka/);
assert.match(await (await get('ja')).text(), /<html lang="en">/); // ja is not among locales
server.close();
await service.close();
