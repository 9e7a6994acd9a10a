import { expect } from 'chai';
import { captureLogger, createTestApp, memoryService } from './helpers/app.js';

describe('maintenance(): admin site', () => {
  it('ignoreAdminSite passes /admin and below, not /administrator', async () => {
    const t = createTestApp({ ignoreAdminSite: true });
    await t.service.enable();
    await t.request().get('/admin').expect(200);
    const r = await t.request().get('/admin/users/1').expect(200);
    expect(r.body.decision.rule).to.equal('ignoreAdminSite');
    await t.request().get('/administrator').expect(503);
  });

  it('uses adminPath, and blocks the admin site when ignoreAdminSite is off', async () => {
    const t = createTestApp({ ignoreAdminSite: true, adminPath: '/backoffice' });
    await t.service.enable();
    await t.request().get('/backoffice/x').expect(200);
    await t.request().get('/admin').expect(503);
    const off = createTestApp({ adminPath: '/backoffice' });
    await off.service.enable();
    await off.request().get('/backoffice').expect(503);
  });
});

describe('maintenance(): tests', () => {
  const saved = process.env.NODE_ENV;
  afterEach(() => {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  });

  it('ignoreTests passes every request while NODE_ENV is "test", and only then', async () => {
    const t = createTestApp({ ignoreTests: true });
    await t.service.enable();
    process.env.NODE_ENV = 'test';
    expect((await t.request().get('/').expect(200)).body.decision.rule).to.equal('ignoreTests');
    process.env.NODE_ENV = 'production';
    await t.request().get('/').expect(503);
  });

  it('without ignoreTests, NODE_ENV=test does not matter', async () => {
    const t = createTestApp();
    await t.service.enable();
    process.env.NODE_ENV = 'test';
    await t.request().get('/').expect(503);
  });
});

describe('maintenance(): IP addresses', () => {
  const proxied = (app: import('koa')) => {
    app.proxy = true; // trust X-Forwarded-For, so each test can pick the client address
  };

  it('passes exact IPv4/IPv6 addresses and CIDR ranges, blocks the rest', async () => {
    const t = createTestApp({ ignoreIpAddresses: ['203.0.113.7', '10.0.0.0/8', '2001:db8::/32'] }, proxied);
    await t.service.enable();
    for (const [ip, status] of [
      ['203.0.113.7', 200],
      ['203.0.113.8', 503],
      ['10.200.1.1', 200],
      ['2001:db8::42', 200],
      ['2001:db9::42', 503],
      ['::ffff:10.1.1.1', 200],
    ] as const) {
      await t.request().get('/').set('X-Forwarded-For', ip).expect(status);
    }
  });

  it('normalises the IPv4-mapped address Node reports for local sockets', async () => {
    const t = createTestApp({ ignoreIpAddresses: ['127.0.0.1'] });
    await t.service.enable();
    const r = await t.request().get('/').expect(200);
    expect(r.body.decision.rule).to.equal('ignoreIpAddresses');
  });

  it('tests RegExps against the address', async () => {
    const t = createTestApp({ ignoreIpAddresses: [/^192\.0\.2\./] }, proxied);
    await t.service.enable();
    await t.request().get('/').set('X-Forwarded-For', '192.0.2.99').expect(200);
    await t.request().get('/').set('X-Forwarded-For', '192.0.20.1').expect(503);
  });

  it('warns once, naming app.maxIpsCount, when the app trusts every X-Forwarded-For hop', async () => {
    const logger = captureLogger();
    const t = createTestApp({ ignoreIpAddresses: ['10.0.0.0/8'], service: memoryService({ logger }) }, proxied);
    await t.service.enable();
    // With maxIpsCount 0, ctx.ip is the leftmost entry, which the client wrote: the forged 10.1.1.1 gets in.
    await t.request().get('/').set('X-Forwarded-For', '10.1.1.1, 8.8.8.8').expect(200);
    await t.request().get('/').set('X-Forwarded-For', '8.8.8.8').expect(503);
    expect(logger.warnings).to.have.length(1);
    expect(logger.warnings[0])
      .to.match(/app\.maxIpsCount/)
      .and.match(/X-Forwarded-For/);
  });

  it('takes the address the trusted proxy saw with app.maxIpsCount = 1, and does not warn', async () => {
    const logger = captureLogger();
    const t = createTestApp({ ignoreIpAddresses: ['10.0.0.0/8'], service: memoryService({ logger }) }, (app) => {
      app.proxy = true;
      app.maxIpsCount = 1;
    });
    await t.service.enable();
    await t.request().get('/').set('X-Forwarded-For', '10.1.1.1, 8.8.8.8').expect(503);
    await t.request().get('/').set('X-Forwarded-For', '8.8.8.8, 10.1.1.1').expect(200);
    expect(logger.warnings).to.deep.equal([]);
  });

  it('does not warn without ignoreIpAddresses or without app.proxy', async () => {
    for (const [options, proxy] of [
      [{}, true],
      [{ ignoreIpAddresses: ['10.0.0.0/8'] }, false],
    ] as const) {
      const logger = captureLogger();
      const t = createTestApp({ ...options, service: memoryService({ logger }) }, (app) => {
        app.proxy = proxy;
      });
      await t.service.enable();
      await t.request().get('/').expect(503);
      expect(logger.warnings, JSON.stringify(options)).to.deep.equal([]);
    }
  });

  it('uses getClientIpAddress when given', async () => {
    const t = createTestApp({ ignoreIpAddresses: ['198.51.100.1'], getClientIpAddress: (ctx) => ctx.get('x-real-ip') });
    await t.service.enable();
    await t.request().get('/').set('x-real-ip', '198.51.100.1').expect(200);
    await t.request().get('/').expect(503);
  });
});

describe('maintenance(): URLs', () => {
  it('passes string prefixes on a segment boundary and RegExps', async () => {
    const t = createTestApp({ ignoreUrls: ['/api/public', /^\/assets\/.*\.css$/] });
    await t.service.enable();
    await t.request().get('/api/public').expect(200);
    const r = await t.request().get('/api/public/items?x=1').expect(200);
    expect(r.body.decision.rule).to.equal('ignoreUrls');
    await t.request().get('/api/publicity').expect(503);
    await t.request().get('/api').expect(503);
    await t.request().get('/assets/site.css').expect(200);
    await t.request().get('/assets/site.js').expect(503);
  });

  it('does not let a dot-dot path ride an exemption to another page', async () => {
    const t = createTestApp({ ignoreUrls: ['/static'] });
    await t.service.enable();
    await t.request().get('/static/app.js').expect(200);
    await t.request().get('/static/../admin').expect(503);
    await t.request().get('/static/%2e%2e/admin').expect(503);
  });
});

describe('maintenance(): redirect', () => {
  it('redirects blocked requests with 302 and no-cache, and serves the target itself (no loop)', async () => {
    const t = createTestApp({ redirectUrl: '/maintenance' });
    await t.service.enable();
    const r = await t.request().get('/shop').expect(302);
    expect(r.headers.location).to.equal('/maintenance');
    expect(r.headers['cache-control']).to.equal('max-age=0, no-cache, no-store, must-revalidate, private');
    const target = await t.request().get('/maintenance').expect(200);
    expect(target.body.decision.rule).to.equal('redirect-target');
  });

  it('redirects to an absolute URL on another host', async () => {
    const t = createTestApp({ redirectUrl: 'https://status.example.com/' });
    await t.service.enable();
    const r = await t.request().get('/').expect(302);
    expect(r.headers.location).to.equal('https://status.example.com/');
  });

  it('does not redirect while maintenance is off', async () => {
    const t = createTestApp({ redirectUrl: '/maintenance' });
    await t.request().get('/shop').expect(200);
  });
});
