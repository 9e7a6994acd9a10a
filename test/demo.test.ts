import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import supertest from 'supertest';
import { createDemoApp } from '../examples/demo/app.js';
import { MaintenanceService } from '../src/index.js';
import { captureLogger } from './helpers/app.js';

describe('demo app (npm start)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-demo-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('follows the state file the README tells people to edit', async () => {
    const file = join(dir, 'maintenance_mode_state.json');
    const app = createDemoApp({ service: new MaintenanceService({ stateFilePath: file, logger: captureLogger() }) });
    const request = () => supertest(app.callback());
    /** The file change reaches the app through its directory watch within milliseconds. */
    const statusSoon = async (path: string, want: number) => {
      let status = 0;
      for (let i = 0; i < 100 && status !== want; i++) {
        status = (await request().get(path)).status;
        if (status !== want) await new Promise((r) => setTimeout(r, 20));
      }
      return status;
    };
    await request().get('/').expect(200);
    writeFileSync(file, '{"enabled":true,"message":"Upgrading the database"}\n');
    expect(await statusSoon('/', 503)).to.equal(503);
    const page = await request().get('/').expect(503);
    expect(page.text).to.include('Upgrading the database');
    expect(page.headers['retry-after']).to.equal('600');
    const api = await request().get('/api/products').expect(503);
    expect(api.body).to.deep.equal({ maintenance: true, message: 'Upgrading the database', retryAfter: 600 });
    await request().get('/healthz').expect(200);
    writeFileSync(file, '0\n');
    expect(await statusSoon('/', 200)).to.equal(200);
  });

  it('takes the checkout down on its own (scope checkout) while the shop stays up', async () => {
    const service = new MaintenanceService({ stateFilePath: join(dir, 'state.json'), logger: captureLogger() });
    const request = () => supertest(createDemoApp({ service }).callback());
    await request().get('/checkout').expect(200);
    await service.enable({ scope: 'checkout', message: 'Payments are being upgraded' });
    const r = await request().get('/checkout').expect(503);
    expect(r.text).to.include('Payments are being upgraded');
    await request().get('/').expect(200);
    await request().get('/api/products').expect(200);
    await service.disable({ scope: 'checkout' });
    await request().get('/checkout').expect(200);
  });
});
