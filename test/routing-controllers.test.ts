import 'reflect-metadata';
import { expect } from 'chai';
import { IsString, Length } from 'class-validator';
import Keyv from 'keyv';
import Koa from 'koa';
import compose from 'koa-compose';
import {
  Body,
  Ctx,
  Get,
  type IocAdapter,
  JsonController,
  Param,
  Post,
  type UseContainerOptions,
  useContainer,
  useKoaServer,
} from 'routing-controllers';
import supertest from 'supertest';
import { Container, Service } from 'typedi';
import {
  createMaintenanceApiController,
  createMaintenanceController,
  FORCE_MAINTENANCE_METADATA,
  ForceMaintenance,
  MaintenanceService,
  maintenance,
} from '../src/index.js';
import { captureLogger, userFromHeader } from './helpers/app.js';

class CreateItemDto {
  @IsString()
  @Length(2, 20)
  name!: string;
}

@Service()
@JsonController('/shop')
class ShopController {
  constructor(private readonly maintenanceService: MaintenanceService) {}

  @Get('/items')
  list() {
    return [{ id: 1 }];
  }

  @Get('/items/:id')
  @ForceMaintenance('off')
  item(@Param('id') id: number) {
    return { id, type: typeof id };
  }

  @Post('/items')
  @ForceMaintenance('off')
  create(@Body() dto: CreateItemDto) {
    return { created: dto.name, isDto: dto instanceof CreateItemDto };
  }

  @Get('/legacy')
  @ForceMaintenance('on')
  legacy() {
    return { reached: true };
  }

  @Get('/state')
  @ForceMaintenance('off')
  async state() {
    return { enabled: await this.maintenanceService.isEnabled() };
  }
}

@Service()
@JsonController('/ops')
@ForceMaintenance('off')
class OpsController {
  @Get('/health')
  health() {
    return { ok: true };
  }

  @Get('/deploy')
  @ForceMaintenance('on')
  deploy() {
    return { deployed: true };
  }
}

@Service()
@JsonController('/ctx')
class CtxController {
  @Get('/mode')
  @ForceMaintenance('off')
  mode(@Ctx() ctx: Koa.Context) {
    return { maintenanceMode: ctx.state.maintenanceMode };
  }
}

/** maintenance() before useKoaServer, as in a real app; routePrefix /api. */
function rcApp(service: MaintenanceService | undefined, extraControllers: Array<new () => object> = []) {
  const app = new Koa();
  app.silent = true;
  app.use(userFromHeader);
  app.use(maintenance({ service }));
  useKoaServer(app, {
    routePrefix: '/api',
    controllers: [ShopController, OpsController, CtxController, ...extraControllers],
    validation: true,
    classTransformer: true,
  });
  return supertest(app.callback());
}

describe('routing-controllers: @ForceMaintenance', () => {
  let service: MaintenanceService;
  before(() => useContainer(Container));
  beforeEach(() => {
    service = new MaintenanceService({ store: new Keyv(), logger: captureLogger() });
    Container.set(MaintenanceService, service);
  });
  afterEach(() => Container.reset());

  it("serves 'off' actions during maintenance (routePrefix, controller prefix, :params) and blocks the rest", async () => {
    const request = rcApp(service);
    await service.enable();
    const r = await request.get('/api/shop/items/7').expect(200);
    expect(r.body).to.deep.equal({ id: 7, type: 'number' });
    await request.get('/api/shop/items').expect(503);
  });

  it("answers 'on' actions with the maintenance response while maintenance is off, without running them", async () => {
    const request = rcApp(service);
    const r = await request.get('/api/shop/legacy').expect(503);
    expect(r.text).to.include('<!doctype html>').and.not.include('reached');
    await request.get('/api/shop/items').expect(200);
  });

  it('applies a class decorator to every action, and a method decorator overrides it', async () => {
    const request = rcApp(service);
    await service.enable();
    await request.get('/api/ops/health').expect(200);
    await service.disable();
    await request.get('/api/ops/deploy').expect(503);
  });

  it('keeps decorator metadata intact: class-validator still rejects a bad DTO with 400 next to a decorated action', async () => {
    const request = rcApp(service);
    await service.enable();
    const bad = await request.post('/api/shop/items').send({ name: 'x' }).expect(400);
    expect(JSON.stringify(bad.body)).to.match(/name must be longer than or equal to 2 characters/);
    const good = await request.post('/api/shop/items').send({ name: 'Teapot' }).expect(200);
    expect(good.body).to.deep.equal({ created: 'Teapot', isDto: true });
  });

  it("still answers 'on' actions of controllers inside a mounted sub-app (fallback); 'off' cannot be seen there", async () => {
    const sub = new Koa();
    useKoaServer(sub, { routePrefix: '/api', controllers: [ShopController] });
    const app = new Koa();
    app.silent = true;
    app.use(maintenance({ service, responseType: 'json' }));
    const dispatch = compose(sub.middleware);
    app.use((ctx, next) => dispatch(ctx, next)); // what koa-mount does
    const request = supertest(app.callback());
    const r = await request.get('/api/shop/legacy').expect(503);
    expect(r.body).to.deep.equal({ maintenance: true, retryAfter: 3600 });
    await service.enable();
    await request.get('/api/shop/items/1').expect(503);
  });

  it('records the mode as metadata for introspection', () => {
    expect(Reflect.getMetadata(FORCE_MAINTENANCE_METADATA, ShopController.prototype, 'legacy')).to.equal('on');
    expect(Reflect.getMetadata(FORCE_MAINTENANCE_METADATA, OpsController)).to.equal('off');
  });

  it('rejects a mode other than on/off at decoration time', () => {
    expect(() => ForceMaintenance('yes' as never)(class X {})).to.throw(
      TypeError,
      /@ForceMaintenance\(mode\) takes 'on' or 'off'/,
    );
  });
});

describe('routing-controllers + TypeDI: the injected MaintenanceService', () => {
  before(() => useContainer(Container));
  afterEach(() => Container.reset());

  it('injects the configured service (Container.set) into controllers, and maintenance() uses the same one', async () => {
    const service = new MaintenanceService({ store: new Keyv(), logger: captureLogger() });
    Container.set(MaintenanceService, service);
    const request = rcApp(undefined);
    expect((await request.get('/api/shop/state').expect(200)).body).to.deep.equal({ enabled: false });
    await service.enable();
    expect((await request.get('/api/shop/state').expect(200)).body).to.deep.equal({ enabled: true });
    await request.get('/api/shop/items').expect(503);
    expect((await request.get('/api/ctx/mode').expect(200)).body).to.deep.equal({ maintenanceMode: true });
  });

  it('keeps two containers (Container.of) isolated: each app sees only its own service', async () => {
    const a = Container.of('tenant-a');
    const b = Container.of('tenant-b');
    a.set(MaintenanceService, new MaintenanceService({ store: new Keyv(), logger: captureLogger() }));
    b.set(MaintenanceService, new MaintenanceService({ store: new Keyv(), logger: captureLogger() }));
    // routing-controllers asks the IoC adapter per action, so each request resolves controllers in its tenant's container.
    useContainer({ get: (cls, action) => Container.of(action?.context?.state?.tenant ?? 'default').get(cls) });
    const tenantApp = (tenant: string) => {
      const app = new Koa();
      app.use(async (ctx, next) => {
        ctx.state.tenant = tenant;
        await next();
      });
      app.use(maintenance({ service: Container.of(tenant).get(MaintenanceService) }));
      useKoaServer(app, { routePrefix: '/api', controllers: [ShopController] });
      return supertest(app.callback());
    };
    const requestA = tenantApp('tenant-a');
    const requestB = tenantApp('tenant-b');
    await a.get(MaintenanceService).enable();
    await requestA.get('/api/shop/items').expect(503);
    await requestB.get('/api/shop/items').expect(200);
    expect((await requestA.get('/api/shop/state')).body).to.deep.equal({ enabled: true });
    expect((await requestB.get('/api/shop/state')).body).to.deep.equal({ enabled: false });
    expect(a.get(ShopController)).to.not.equal(b.get(ShopController));
    useContainer(Container);
  });
});

describe('routing-controllers: createMaintenanceController()', () => {
  before(() => useContainer(Container));
  afterEach(() => Container.reset());

  it('serves the toggle and status routes as a controller, with the same rules as maintenanceRoutes()', async () => {
    const service = new MaintenanceService({ store: new Keyv(), logger: captureLogger() });
    const request = rcApp(service, [createMaintenanceController({ service, prefix: '/maintenance-mode' })]);
    const alice = JSON.stringify({ username: 'alice', isSuperuser: true });
    await request.get('/api/maintenance-mode/on').set('x-user', '{"isStaff":true}').expect(403);
    const on = await request.post('/api/maintenance-mode/on?next=/api/ops/health').set('x-user', alice).expect(302);
    expect(on.headers.location).to.equal('/api/ops/health');
    expect(await service.getState()).to.include({ enabled: true, updatedBy: 'alice' });
    const status = await request.get('/api/maintenance-mode/status').set('x-user', alice).expect(200);
    expect(status.body).to.include({ enabled: true, active: true, updatedBy: 'alice' });
    await request
      .post('/api/maintenance-mode/off')
      .set('x-user', alice)
      .set('Origin', 'https://evil.example')
      .expect(403);
    await request.post('/api/maintenance-mode/off').set('x-user', alice).expect(302);
    expect(await service.isEnabled()).to.equal(false);
  });
});

/** An app's own controller without `@Service()`, as most routing-controllers apps have. */
@JsonController('/plain')
class PlainController {
  @Get('/hello')
  hello() {
    return { hello: 'world' };
  }

  @Get('/health')
  @ForceMaintenance('off')
  health() {
    return { ok: true };
  }

  @Get('/legacy')
  @ForceMaintenance('on')
  legacy() {
    return { reached: true };
  }
}

const ADMIN = JSON.stringify({ username: 'alice', isSuperuser: true });
/** What axios sends by default: a JSON API client. */
const AXIOS_ACCEPT = 'application/json, text/plain, */*';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** An app adopting the library as the README shows: its own controller beside the library's two. */
function adoptingApp(service: MaintenanceService, responseType: 'auto' | 'json' = 'auto') {
  const app = new Koa();
  app.silent = true;
  app.use(userFromHeader);
  app.use(maintenance({ service, responseType }));
  const controllers = [
    PlainController,
    createMaintenanceController({ service }),
    createMaintenanceApiController({ service }),
  ];
  useKoaServer(app, { routePrefix: '/api', controllers });
  return supertest(app.callback());
}

describe('routing-controllers: an app adopts it without useContainer, or with one that falls back', () => {
  const setups: Array<[string, IocAdapter | undefined, UseContainerOptions | undefined]> = [
    ['without useContainer', undefined, undefined],
    ['with useContainer(Container, { fallbackOnErrors: true })', Container, { fallbackOnErrors: true }],
  ];
  let service: MaintenanceService;
  beforeEach(() => {
    service = new MaintenanceService({ store: new Keyv(), logger: captureLogger() });
  });
  afterEach(() => Container.reset());
  after(() => useContainer(Container));

  for (const [name, container, options] of setups) {
    it(`${name}: its own controllers without @Service() and the library's controllers all answer`, async () => {
      useContainer(container as IocAdapter, options);
      const request = adoptingApp(service);
      expect((await request.get('/api/plain/hello').expect(200)).body).to.deep.equal({ hello: 'world' });
      const on = await request.post('/api/maintenance-mode/on').set('x-user', ADMIN).set('Accept', 'application/json');
      expect(on.status, on.text).to.equal(200);
      expect(on.body).to.include({ enabled: true, updatedBy: 'alice' });
      await request.get('/api/plain/hello').expect(503);
      expect((await request.get('/api/plain/health').expect(200)).body).to.deep.equal({ ok: true });
      const state = await request.get('/api/maintenance-mode/api/state').set('x-user', ADMIN).expect(200);
      expect(state.body).to.include({ enabled: true });
    });
  }

  it("with a plain useContainer(Container): the library's controllers still answer; the app's own without @Service() fail in TypeDI", async () => {
    useContainer(Container);
    const request = adoptingApp(service);
    await request.post('/api/maintenance-mode/on').set('x-user', ADMIN).set('Accept', 'application/json').expect(200);
    await request.get('/api/maintenance-mode/api/state').set('x-user', ADMIN).expect(200);
    await service.disable();
    // Why the README passes { fallbackOnErrors: true }: TypeDI 0.10 throws ServiceNotFoundError for such a controller.
    await request.get('/api/plain/hello').expect(500);
  });
});

describe("routing-controllers: JSON clients of a JSON API get JSON (responseType: 'auto', as in the README)", () => {
  let service: MaintenanceService;
  before(() => useContainer(Container, { fallbackOnErrors: true }));
  beforeEach(() => {
    service = new MaintenanceService({ store: new Keyv(), logger: captureLogger() });
  });
  after(() => useContainer(Container));

  it('answers a forced-on action and, during maintenance, every other action with JSON to JSON clients, the page to browsers', async () => {
    const request = adoptingApp(service);
    const expectNegotiated = async (path: string) => {
      for (const accept of ['application/json', AXIOS_ACCEPT]) {
        const r = await request.get(path).set('Accept', accept).expect(503);
        expect(r.headers['content-type'], `${path} ${accept}`).to.equal('application/json; charset=utf-8');
        expect(r.body).to.include({ maintenance: true });
        expect(r.headers.vary).to.include('Accept');
      }
      const page = await request.get(path).set('Accept', BROWSER_ACCEPT).expect(503);
      expect(page.headers['content-type'], path).to.equal('text/html; charset=utf-8');
    };
    await expectNegotiated('/api/plain/legacy'); // forced on while maintenance is off
    await service.enable({ message: 'Upgrading' });
    await expectNegotiated('/api/plain/legacy');
    await expectNegotiated('/api/plain/hello');
    expect((await request.get('/api/plain/hello').set('Accept', AXIOS_ACCEPT)).body.message).to.equal('Upgrading');
  });

  it("answers JSON even to clients that send no Accept (curl, supertest) with responseType 'json', for an API with no pages", async () => {
    const request = adoptingApp(service, 'json');
    const forced = await request.get('/api/plain/legacy').expect(503);
    expect(forced.body).to.include({ maintenance: true });
    await service.enable();
    const blocked = await request.get('/api/plain/hello').expect(503);
    expect(blocked.headers['content-type']).to.equal('application/json; charset=utf-8');
    const page = await adoptingApp(service).get('/api/plain/hello').expect(503);
    expect(page.headers['content-type']).to.equal('text/html; charset=utf-8'); // 'auto' without a preference: the page
  });
});
