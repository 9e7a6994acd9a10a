// The README's dry run. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService, maintenance } from 'koa-maintenance-mode';
import { Container } from 'typedi';

Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));
const service = Container.get(MaintenanceService);
const app = new Koa();
// #region readme
const wouldBlock = new Map<string, number>();
app.use(maintenance({
  ignoreIpAddresses: ['10.0.0.0/8'],
  onDecision: (ctx, d) => { if (d.wouldBlock) wouldBlock.set(ctx.path, (wouldBlock.get(ctx.path) ?? 0) + 1); },
}));
await service.enable({ dryRun: true });    // a week of traffic later: wouldBlock says who the real window would stop
// #endregion
app.use((ctx) => {
  ctx.body = 'shop';
});

const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const status = (await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/cart`)).status;
assert.equal(status, 200); // a rehearsal blocks nothing …
assert.equal(wouldBlock.get('/cart'), 1); // … and says what it would have blocked
server.close();
await service.close();
