import { expect } from 'chai';
import { hashSecret, signBypassCookie, verifyBypassCookie } from '../src/core/bypass.js';
import { MaintenanceError, maintenance } from '../src/index.js';
import { createTestApp, memoryService } from './helpers/app.js';

const SECRET = 'k9f3-Qx7pL2mZ8vR4tYw';

function cookieFrom(setCookie: string[] | string | undefined): string {
  const line = (Array.isArray(setCookie) ? setCookie : [setCookie ?? '']).find((c) =>
    c.startsWith('maintenance_bypass='),
  );
  return (line ?? '').split(';')[0];
}

describe('bypass tokens', () => {
  it('visiting /<secret> sets a signed, httpOnly, SameSite=Lax cookie without the secret, and redirects home', async () => {
    const t = createTestApp({ bypass: { secret: SECRET } });
    await t.service.enable();
    const r = await t.request().get(`/${SECRET}`).expect(302);
    expect(r.headers.location).to.equal('/');
    const header = (r.headers['set-cookie'] as unknown as string[])[0];
    expect(header).to.match(/^maintenance_bypass=\d+\.[A-Za-z0-9_-]+; path=\/; expires=[^;]+; samesite=lax; httponly$/);
    const expires = Date.parse((/expires=([^;]+)/.exec(header) as RegExpExecArray)[1]);
    expect(expires - Date.now()).to.be.within(43_190_000, 43_201_000); // ttlSeconds 43200 by default
    expect(header).to.not.include(SECRET);
    expect(header).to.not.include(hashSecret(SECRET));
    const pass = await t.request().get('/shop').set('Cookie', cookieFrom(r.headers['set-cookie'])).expect(200);
    expect(pass.body.decision).to.deep.equal({ blocked: false, rule: 'bypass-token' });
    await t.request().get('/shop').expect(503);
  });

  it('marks the cookie Secure on https (behind a trusted proxy)', async () => {
    const t = createTestApp({ bypass: { secret: SECRET } }, (app) => {
      app.proxy = true;
    });
    const r = await t.request().get(`/${SECRET}`).set('X-Forwarded-Proto', 'https').expect(302);
    expect((r.headers['set-cookie'] as unknown as string[])[0]).to.match(/; secure; httponly$/);
  });

  it('lets API clients through with the header, compared in constant time', async () => {
    const t = createTestApp({ bypass: { secret: SECRET, header: 'X-Ops-Key' } });
    await t.service.enable();
    await t.request().get('/api').set('X-Ops-Key', SECRET).expect(200);
    await t.request().get('/api').set('X-Ops-Key', `${SECRET}x`).expect(503);
    await t.request().get('/api').set('X-Ops-Key', SECRET.slice(0, -1)).expect(503);
    await t.request().get('/api').set('x-maintenance-bypass', SECRET).expect(503);
  });

  it('rejects forged, tampered, expired and foreign cookies', async () => {
    const t = createTestApp({ bypass: { secret: SECRET, ttlSeconds: 60 } });
    await t.service.enable();
    const key = hashSecret(SECRET);
    const future = Math.floor(Date.now() / 1000) + 600;
    const valid = signBypassCookie(key, future);
    const [exp, mac] = valid.split('.');
    const bad = [
      'maintenance_bypass=1',
      `maintenance_bypass=${future}.${'A'.repeat(mac.length)}`,
      `maintenance_bypass=${Number(exp) + 1}.${mac}`, // extended expiry, old signature
      `maintenance_bypass=${signBypassCookie(key, Math.floor(Date.now() / 1000) - 1)}`, // expired
      `maintenance_bypass=${signBypassCookie(hashSecret('another-secret-of-16+'), future)}`, // other key
      `maintenance_bypass=${SECRET}`, // the raw secret is not a cookie
    ];
    for (const cookie of bad) await t.request().get('/').set('Cookie', cookie).expect(503);
    await t.request().get('/').set('Cookie', `maintenance_bypass=${valid}`).expect(200);
  });

  it('accepts a secret stored with the state for this window (CLI --secret), as a hash only', async () => {
    const service = memoryService();
    const t = createTestApp({ service });
    await service.enable({ bypassHash: hashSecret('window-secret-0123456789') });
    expect(JSON.stringify(await service.getState())).to.not.include('window-secret');
    const r = await t.request().get('/window-secret-0123456789').expect(302);
    await t.request().get('/').set('Cookie', cookieFrom(r.headers['set-cookie'])).expect(200);
    await t.request().get('/').set('x-maintenance-bypass', 'window-secret-0123456789').expect(200);
    await service.enable(); // a new window without a secret: the old cookie no longer works
    await t.request().get('/').set('Cookie', cookieFrom(r.headers['set-cookie'])).expect(503);
  });

  it("signs the cookie with the secret that was used, so a window's secret does not outlive its window", async () => {
    const service = memoryService();
    const t = createTestApp({ service, bypass: { secret: SECRET } });
    await service.enable({ bypassHash: hashSecret('window-secret-0123456789') });
    const r = await t.request().get('/window-secret-0123456789').expect(302);
    await service.enable(); // next window, the app's own secret still configured
    await t.request().get('/').set('Cookie', cookieFrom(r.headers['set-cookie'])).expect(503);
  });

  it('verifies cookies only before their expiry', () => {
    const key = hashSecret(SECRET);
    expect(verifyBypassCookie(signBypassCookie(key, 1000), [key], 999)).to.equal(true);
    expect(verifyBypassCookie(signBypassCookie(key, 1000), [key], 1000)).to.equal(false);
    expect(verifyBypassCookie('abc.def', [key], 0)).to.equal(false);
  });

  it('rejects weak or unusable secrets at startup, without echoing them', () => {
    for (const secret of ['short', '', 42, 'has a space in it ok?']) {
      let err: unknown;
      try {
        maintenance({ bypass: { secret } as never });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(MaintenanceError);
      if (typeof secret === 'string' && secret) expect((err as Error).message).to.not.include(secret);
    }
    expect(() => maintenance({ bypass: { secret: SECRET, ttl: 5 } as never })).to.throw(/Did you mean `ttlSeconds`\?/);
    expect(() => maintenance({ bypass: { secret: SECRET, ttlSeconds: 0 } })).to.throw(/^bypass.ttlSeconds must be/);
  });
});
