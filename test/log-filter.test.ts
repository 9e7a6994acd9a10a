import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import Keyv from 'keyv';
import Koa from 'koa';
import supertest from 'supertest';
import { Container } from 'typedi';
import { logAppErrors } from '../examples/logging/koa-errors.js';
import { createPinoLogger } from '../examples/logging/pino.js';
import { createWinstonLogger } from '../examples/logging/winston.js';
import {
  createMaintenanceLogFilter,
  MaintenanceService,
  maintenance,
  requireNotMaintenanceMode503,
} from '../src/index.js';
import { memoryService } from './helpers/app.js';

function lines(stream: PassThrough): string[] {
  const out: string[] = [];
  stream.on('data', (chunk: Buffer) => out.push(...chunk.toString().split('\n').filter(Boolean)));
  return out;
}

describe('log filter: requireNotMaintenanceMode503 / createMaintenanceLogFilter', () => {
  afterEach(() => Container.reset());

  it('drops 503 records only while maintenance is on, in every record shape', async () => {
    const service = memoryService();
    const keep = createMaintenanceLogFilter(service);
    const shapes = [{ status: 503 }, { statusCode: 503 }, { res: { statusCode: 503 } }];
    for (const r of shapes) expect(keep(r), JSON.stringify(r)).to.equal(true);
    await service.enable();
    for (const r of shapes) expect(keep(r), JSON.stringify(r)).to.equal(false);
    for (const r of [{ status: 500 }, { res: { statusCode: 200 } }, {}, null, 'text', 503])
      expect(keep(r)).to.equal(true);
  });

  it('follows the schedule window of the last known state', async () => {
    const service = memoryService();
    await service.enable({ start: new Date(Date.now() + 60_000) });
    expect(createMaintenanceLogFilter(service)({ status: 503 })).to.equal(true);
  });

  it('is synchronous and uses the container service', async () => {
    const service = memoryService();
    Container.set(MaintenanceService, service);
    await service.enable();
    const result = requireNotMaintenanceMode503({ statusCode: 503 });
    expect(result).to.equal(false);
    await service.disable();
    expect(requireNotMaintenanceMode503({ statusCode: 503 })).to.equal(true);
  });

  it('learns the state from the requests the middleware reads (no extra I/O)', async () => {
    const keyv = new Keyv();
    const service = new MaintenanceService({ store: keyv });
    const writer = new MaintenanceService({ store: keyv }); // another instance, or the CLI
    const app = new Koa();
    app.use(maintenance({ service }));
    await writer.enable();
    expect(createMaintenanceLogFilter(service)({ status: 503 })).to.equal(true); // nothing read yet
    await supertest(app.callback()).get('/').expect(503);
    expect(createMaintenanceLogFilter(service)({ status: 503 })).to.equal(false);
  });
});

describe('log filter examples', () => {
  it('pino: hooks.logMethod drops maintenance 503s and keeps the rest', async () => {
    const service = memoryService();
    const out = new PassThrough();
    const seen = lines(out);
    const log = createPinoLogger(out, service);
    log.info({ res: { statusCode: 503 } }, 'before');
    await service.enable();
    log.info({ res: { statusCode: 503 } }, 'during');
    log.info({ res: { statusCode: 200 } }, 'ok during');
    log.info('plain message');
    await new Promise((r) => setImmediate(r));
    expect(seen.map((l) => JSON.parse(l).msg)).to.deep.equal(['before', 'ok during', 'plain message']);
  });

  it('winston: a format drops maintenance 503s and keeps the rest', async () => {
    const service = memoryService();
    const out = new PassThrough();
    const seen = lines(out);
    const log = createWinstonLogger(out, service);
    await service.enable();
    log.info('request', { statusCode: 503 });
    log.warn('slow', { statusCode: 200 });
    log.error('failed', { status: 500 });
    await new Promise((r) => setImmediate(r));
    expect(seen.map((l) => JSON.parse(l).message)).to.deep.equal(['slow', 'failed']);
  });

  it("Koa app.on('error'): 503 errors during maintenance are not logged, others are", async () => {
    const service = memoryService();
    const app = new Koa();
    const logged: string[] = [];
    logAppErrors(app, (m) => logged.push(m), service);
    app.use(maintenance({ service, ignoreUrls: ['/jobs', '/boom'] }));
    app.use((ctx) => {
      if (ctx.path === '/jobs') ctx.throw(503, 'queue paused for maintenance');
      throw new Error('bug');
    });
    await service.enable();
    await supertest(app.callback()).get('/jobs').expect(503);
    await supertest(app.callback()).get('/boom').expect(500);
    await service.disable();
    await supertest(app.callback()).get('/jobs').expect(503);
    expect(logged).to.deep.equal(['500 GET /boom: bug', '503 GET /jobs: queue paused for maintenance']);
  });
});
