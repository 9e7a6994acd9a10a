import { metrics } from '@opentelemetry/api';
import { type CollectionResult, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import Keyv from 'keyv';
import Koa from 'koa';
import supertest from 'supertest';
import { MaintenanceService, maintenance } from '../src/index.js';
import { captureLogger, userFromHeader } from './helpers/app.js';

/** A reader the test collects from by hand (what an exporter such as Prometheus does on a scrape). */
class TestReader extends MetricReader {
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

type Point = { attributes: Record<string, unknown>; value: unknown };

/** The data points of `name`, by attributes. */
async function points(reader: TestReader, name: string): Promise<Point[]> {
  const { resourceMetrics } = (await reader.collect()) as CollectionResult;
  const found = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === name);
  return found.flatMap((m) => m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })));
}

describe('metrics through OpenTelemetry', () => {
  let reader: TestReader;
  let provider: MeterProvider;
  before(() => {
    metrics.disable();
    reader = new TestReader();
    provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
  });
  after(async () => {
    await provider.shutdown();
    metrics.disable();
  });

  it('counts requests by decision, rule and scope only while maintenance is active, and gauges the state', async () => {
    const service = new MaintenanceService({ store: new Keyv(), logger: captureLogger() });
    const koa = new Koa();
    koa.use(userFromHeader);
    koa.use(maintenance({ service, ignoreStaff: true, scope: (ctx) => ctx.get('x-tenant') || undefined }));
    koa.use((ctx) => {
      ctx.body = 'ok';
    });
    const request = () => supertest(koa.callback());
    for (let i = 0; i < 5; i++) await request().get('/').expect(200); // off: nothing counted
    expect(await points(reader, 'maintenance.requests')).to.deep.equal([]);
    expect(await points(reader, 'maintenance.active')).to.deep.equal([{ attributes: {}, value: 0 }]);

    await service.enable();
    for (let i = 0; i < 3; i++) await request().get('/').expect(503);
    await request().get('/').set('x-user', '{"isStaff":true}').expect(200);
    await service.disable();
    await service.enable({ scope: 'acme', dryRun: true });
    await request().get('/').set('x-tenant', 'acme').expect(200);
    await service.enable({ scope: 'globex' });
    await request().get('/').set('x-tenant', 'globex').expect(503);

    const requests = await points(reader, 'maintenance.requests');
    expect(requests).to.have.deep.members([
      { attributes: { decision: 'blocked', rule: 'maintenance' }, value: 3 },
      { attributes: { decision: 'pass', rule: 'ignoreStaff' }, value: 1 },
      { attributes: { decision: 'would-block', rule: 'dry-run', scope: 'acme' }, value: 1 },
      { attributes: { decision: 'blocked', rule: 'maintenance', scope: 'globex' }, value: 1 },
    ]);
    const active = await points(reader, 'maintenance.active');
    expect(active).to.have.deep.members([
      { attributes: {}, value: 0 },
      { attributes: { scope: 'acme' }, value: 0 }, // a dry run blocks nothing
      { attributes: { scope: 'globex' }, value: 1 },
    ]);
  });
});
