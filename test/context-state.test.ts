import { expect } from 'chai';
import Koa from 'koa';
import request from 'supertest';
import { type DecisionTrace, maintenance } from '../src/index.js';
import { memoryService } from './helpers/app.js';

describe('ctx.state: the keys maintenance() sets are typed for the app', () => {
  it('types maintenanceMode, maintenanceDecision and maintenanceReadOnly on a plain Koa app (checked by tsc)', async () => {
    const service = memoryService();
    await service.enable({ readOnly: true });
    const app = new Koa();
    app.use(maintenance({ service }));
    app.use((ctx) => {
      // These lines compile only while the package types Koa's DefaultState: each has a type, not `any`.
      const decision: DecisionTrace | undefined = ctx.state.maintenanceDecision;
      const on: boolean | undefined = ctx.state.maintenanceMode;
      const readOnly: boolean | undefined = ctx.state.maintenanceReadOnly;
      // @ts-expect-error maintenanceMode is a boolean: a string is refused
      const wrong: string = ctx.state.maintenanceMode;
      void wrong;
      ctx.body = { decision, on, readOnly, start: ctx.state.maintenanceUpcoming?.start ?? null };
    });
    const r = await request(app.callback()).get('/').expect(200);
    expect(r.body).to.deep.equal({
      decision: { blocked: false, rule: 'read-only' },
      on: true,
      readOnly: true,
      start: null,
    });
  });

  it('leaves the keys an app adds to ctx.state as Koa types them', () => {
    const app = new Koa();
    app.use((ctx) => {
      ctx.state.tenantId = 'acme'; // Koa's DefaultState still accepts any other key
      ctx.body = ctx.state.tenantId;
    });
    return request(app.callback()).get('/').expect(200, 'acme');
  });
});
