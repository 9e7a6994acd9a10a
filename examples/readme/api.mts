// The README's control API. Run by test/readme.test.ts: alone it checks itself; `node api.mjs serve` keeps serving
// (the app pipeline.sh drives), printing its port.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Koa from 'koa';
import { MaintenanceService } from 'koa-maintenance-mode';
import { Container } from 'typedi';

const service = () => Container.get(MaintenanceService);
const app = new Koa();
// #region readme
import { maintenance, maintenanceApi } from 'koa-maintenance-mode';

app.use(maintenance({ presence: { intervalMs: 5000 } }));
app.use(maintenanceApi().routes());   // /maintenance-mode/api/…: tokens, or a superuser's session; JSON only
// #endregion
app.use((ctx) => {
  ctx.body = 'the shop';
});

const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
if (process.argv[2] === 'serve') {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
  const stop = async () => {
    server.close();
    await service().close();
  };
  process.once('SIGTERM', stop);
} else {
  const made = await service().createToken({ label: 'readme', allow: ['on', 'off', 'read'] });
  const call = (path: string, body: object) =>
    fetch(`${base}/maintenance-mode/api${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${made.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  assert.equal((await call('/on', { message: 'Deploying' })).status, 200);
  assert.equal((await fetch(base)).status, 503);
  assert.equal((await call('/off', {})).status, 200);
  assert.equal((await call('/on', { mesage: 'typo' })).status, 400);
  assert.equal((await fetch(`${base}/maintenance-mode/api/openapi.json`)).status, 200);
  server.close();
  await service().close();
}

