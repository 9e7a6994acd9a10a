import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { hashSecret, optionSecret, signBypassCookie, verifyBypassCookie } from '../src/core/bypass.js';
import { MaintenanceError, MaintenanceService, maintenance } from '../src/index.js';
import { captureLogger, createTestApp, inSeconds, memoryService } from './helpers/app.js';
import { cliRunner } from './helpers/cli.js';
import { expectNoForgery, expectSecretWorks } from './helpers/forge.js';

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

  it('rejects forged, tampered, expired and foreign cookies, and expiries beyond ttlSeconds', async () => {
    const t = createTestApp({ bypass: { secret: SECRET, ttlSeconds: 600 } });
    await t.service.enable();
    const keys = { option: optionSecret(SECRET) };
    const now = Math.floor(Date.now() / 1000);
    const sign = (secret: string, expires: number) =>
      signBypassCookie('option', secret, { option: optionSecret(secret) }, expires);
    const valid = signBypassCookie('option', SECRET, keys, now + 300);
    const [exp, mac] = valid.split('.');
    const bad = [
      'maintenance_bypass=1',
      `maintenance_bypass=${now + 300}.${'A'.repeat(mac.length)}`,
      `maintenance_bypass=${Number(exp) + 1}.${mac}`, // extended expiry, old signature
      `maintenance_bypass=${sign(SECRET, now - 1)}`, // expired
      `maintenance_bypass=${sign(SECRET, now + 600 + 3600)}`, // signed, but beyond ttlSeconds (the year-5138 cookie)
      `maintenance_bypass=${sign(SECRET, 99_999_999_999)}`,
      `maintenance_bypass=${sign('another-secret-of-16+', now + 300)}`, // other key
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

  it('verifies cookies only before their expiry, and a window cookie only within its window', () => {
    const keys = { option: optionSecret(SECRET) };
    const bounds = (nowSeconds: number, end?: string) => ({ nowSeconds, ttlSeconds: 600, end });
    expect(verifyBypassCookie(signBypassCookie('option', SECRET, keys, 1000), keys, bounds(999))).to.equal(true);
    expect(verifyBypassCookie(signBypassCookie('option', SECRET, keys, 1000), keys, bounds(1000))).to.equal(false);
    expect(verifyBypassCookie('abc.def', keys, bounds(0))).to.equal(false);
    const w = 'window-secret-0123456789';
    const windowKeys = { windowVerifier: hashSecret(w) };
    const end = new Date(2000 * 1000).toISOString();
    const cookie = (expires: number) => signBypassCookie('window', w, windowKeys, expires);
    expect(verifyBypassCookie(cookie(1500), windowKeys, bounds(1000, end))).to.equal(true);
    expect(verifyBypassCookie(cookie(1500), windowKeys, bounds(1000, end))).to.equal(true);
    // The holder of a window cookie cannot stretch it past the window's end (plus the tolerated clock skew).
    expect(verifyBypassCookie(cookie(1590), windowKeys, bounds(1000, new Date(1500 * 1000).toISOString()))).to.equal(
      false,
    );
    expect(verifyBypassCookie(cookie(1500), { windowVerifier: hashSecret('other') }, bounds(1000))).to.equal(false);
  });

  it("gives a window secret's cookie a lifetime that ends with the window", async () => {
    const service = memoryService();
    const t = createTestApp({ service });
    const secret = 'window-secret-0123456789';
    await service.enable({ end: inSeconds(120), bypassHash: hashSecret(secret) });
    const r = await t.request().get(`/${secret}`).expect(302);
    const header = (r.headers['set-cookie'] as unknown as string[])[0];
    const expires = Date.parse((/expires=([^;]+)/.exec(header) as RegExpExecArray)[1]);
    expect(expires - Date.now()).to.be.within(110_000, 121_000); // not ttlSeconds (12 hours)
    const [, value] = /maintenance_bypass=([^;]+)/.exec(header) as RegExpExecArray;
    const [, proof] = value.split('.');
    const stretched = `${Math.floor(Date.now() / 1000) + 3600}.${proof}`;
    await t.request().get('/').set('Cookie', `maintenance_bypass=${stretched}`).expect(503);
    await t.request().get('/').set('Cookie', `maintenance_bypass=${value}`).expect(200);
  });

  it('refuses every cookie, header and path built from what the state file, the history and the scope files hold', async function () {
    this.timeout(20_000);
    const dir = mkdtempSync(join(tmpdir(), 'kmm-forge-'));
    try {
      const env = { USER: 'ops', MAINTENANCE_MODE_STATE_FILE_PATH: join(dir, 'state.json') };
      const cli = cliRunner(dir, env);
      const on = await cli(['on', '--secret', '--json']);
      expect(on.code, on.err).to.equal(0);
      const scoped = await cli(['on', '--secret', '--scope', 'billing']);
      expect(scoped.code, scoped.err).to.equal(0);
      const dump = readdirSync(dir, { recursive: true, encoding: 'utf8' }) // the state file and its side directory
        .filter((f) => statSync(join(dir, f)).isFile())
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .join('\n');
      expect(dump).to.match(/"bypassHash": "[0-9a-f]{64}"/);
      const service = new MaintenanceService({
        stateFilePath: env.MAINTENANCE_MODE_STATE_FILE_PATH,
        logger: captureLogger(),
      });
      const t = createTestApp({ service });
      try {
        await expectNoForgery(t.request, dump);
        const secret = JSON.parse(on.out).bypassPath.slice(1);
        await expectSecretWorks(t.request, secret); // the secret itself still works
      } finally {
        await service.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
