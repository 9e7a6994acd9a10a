// The README's "Testing your app": an app's own test, run here as a script (`test` stands in for the runner's).
const tests: Array<Promise<void>> = [];
const test = (_name: string, body: () => Promise<void>) => void tests.push(body());
// #region readme
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Koa from 'koa';
import Keyv from 'keyv';
import request from 'supertest';
import { maintenance, MaintenanceService } from 'koa-maintenance-mode';

function buildApp(service: MaintenanceService) {          // your app factory, given the service
  const app = new Koa();
  app.use(maintenance({ service, responseType: 'auto', presence: false }));
  app.use((ctx) => { ctx.body = 'Hello'; });
  return app.callback();
}

test('the site goes 503 during maintenance, and comes back', async () => {
  const service = new MaintenanceService({ store: new Keyv() }); // in memory: no file, nothing shared
  const app = buildApp(service);
  await request(app).get('/').expect(200, 'Hello');              // off: the app's tests run as before

  await service.enable({ message: 'Back soon' });
  await request(app).get('/').set('Accept', 'text/html').expect(503).expect(/Back soon/);
  const api = await request(app).get('/orders').set('Accept', 'application/json').expect(503);
  assert.equal(api.body.message, 'Back soon');
  assert.ok(api.headers['retry-after']);

  await service.disable();
  await request(app).get('/').expect(200);
  await service.close();
});
// #endregion

await Promise.all(tests);
