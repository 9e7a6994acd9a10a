// The README's scopes by host name. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService, maintenance, scopeByHostname } from 'koa-maintenance-mode';
import { Container } from 'typedi';

Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));
const service = Container.get(MaintenanceService);
const app = new Koa();
// #region readme
// Tenants by host name: scopeByHostname() lower-cases and drops a trailing dot, so neither
// SHOP.example.com nor shop.example.com. gets past the scope shop.example.com (a raw ctx.hostname would let them).
app.use(maintenance({ scope: scopeByHostname() }));          // or scopeByHostname({ prefix: 'host:' })
await service.enable({ scope: 'shop.example.com' });         // switch with the lower-case name
// #endregion
app.use((ctx) => {
  ctx.body = 'shop';
});

const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const port = (server.address() as { port: number }).port;
for (const host of ['shop.example.com', 'SHOP.example.com', 'shop.example.com.']) {
  // fetch() will not send another Host: ask node:http directly.
  const status = await new Promise<number>((done) => {
    import('node:http').then(({ request }) =>
      request({ port, host: '127.0.0.1', headers: { host } }, (res) => done(res.statusCode ?? 0)).end(),
    );
  });
  assert.equal(status, 503, host);
}
server.close();
await service.close();
