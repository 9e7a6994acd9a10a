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
    await request().get('/').expect(200);
    writeFileSync(file, '{"enabled":true,"message":"Upgrading the database"}\n');
    const page = await request().get('/').expect(503);
    expect(page.text).to.include('Upgrading the database');
    expect(page.headers['retry-after']).to.equal('600');
    const api = await request().get('/api/products').expect(503);
    expect(api.body).to.deep.equal({ maintenance: true, message: 'Upgrading the database', retryAfter: 600 });
    await request().get('/healthz').expect(200);
    writeFileSync(file, '0\n');
    await request().get('/').expect(200);
  });
});
