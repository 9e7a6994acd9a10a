import { expect } from 'chai';
import Keyv from 'keyv';
import Koa from 'koa';
import supertest from 'supertest';
import { createDemoApp } from '../examples/demo/app.js';
import { MaintenanceService, maintenance, maintenanceRoutes } from '../src/index.js';
import { captureLogger, createTestApp, inSeconds, memoryService, userFromHeader } from './helpers/app.js';

const ALICE = JSON.stringify({ username: 'alice', isSuperuser: true });
const MESSAGE = { en: 'Back at 3', de: 'Um 3 zurück', ja: '3時に再開' };

function routesApp() {
  const service = memoryService();
  const app = new Koa();
  app.use(userFromHeader);
  app.use(maintenance({ service }));
  app.use(maintenanceRoutes({ service, publicStatus: true }).routes());
  return { service, request: () => supertest(app.callback()) };
}

describe('pages: what people read', () => {
  it("shows a message of several languages in the History in the reader's language, the others named", async () => {
    const t = routesApp();
    await t.service.enable({ message: MESSAGE, by: 'ops' });
    const de = await t
      .request()
      .get('/maintenance-mode/')
      .set('x-user', ALICE)
      .set('Accept-Language', 'de')
      .expect(200);
    expect(de.text).to.not.include('[object Object]');
    expect(de.text).to.include(
      '<span class="msg" lang="de">“Um 3 zurück”</span> <span class="muted">(also in en, ja)</span>',
    );
    const en = await t.request().get('/maintenance-mode/').set('x-user', ALICE).expect(200);
    expect(en.text).to.include(
      '<span class="msg" lang="en">“Back at 3”</span> <span class="muted">(also in de, ja)</span>',
    );
    await t.service.enable({ scope: 'billing', message: MESSAGE });
    const scoped = await t.request().get('/maintenance-mode/').set('x-user', ALICE).set('Accept-Language', 'ja');
    expect(scoped.text).to.not.include('[object Object]');
    expect(scoped.text).to.include('<span lang="ja">3時に再開</span> <span class="muted">(also in de, en)</span>');
  });

  it("gives public.json's message in the reader's language, naming it, with Vary: Accept-Language", async () => {
    const t = routesApp();
    await t.service.enable({ message: MESSAGE });
    const ja = await t.request().get('/maintenance-mode/public.json').set('Accept-Language', 'ja,en;q=0.5').expect(200);
    expect(ja.body).to.deep.equal({ active: true, message: '3時に再開', lang: 'ja' });
    expect(ja.headers.vary).to.match(/Accept-Language/);
    const other = await t.request().get('/maintenance-mode/public.json').set('Accept-Language', 'sv').expect(200);
    expect(other.body).to.deep.equal({ active: true, message: 'Back at 3', lang: 'en' });
    await t.service.enable({ start: inSeconds(3600), message: MESSAGE });
    const soon = await t.request().get('/maintenance-mode/public.json').set('Accept-Language', 'de').expect(200);
    expect(soon.body.upcoming).to.include({ message: 'Um 3 zurück', lang: 'de' });
  });

  it('ends the Japanese sentence with 。 and gives the page its zone-aware local time', async () => {
    // The page's own script (live pages move it into live.js: test/live-page.test.ts).
    const t = createTestApp({ liveReload: false });
    await t.service.enable({ end: inSeconds(3600) });
    const ja = await t.request().get('/').set('Accept-Language', 'ja').expect(503);
    expect(ja.text).to.match(/再開予定： <strong><time id="end" datetime="[^"]+">[^<]+<\/time><\/strong>。/);
    expect(ja.text).to.include("timeZoneName: 'short'");
    const en = await t.request().get('/').expect(503);
    expect(en.text).to.match(/<\/time><\/strong>\./);
  });

  it('gives a browser a small styled page when it may not switch, a script JSON and curl plain text', async () => {
    const t = routesApp();
    const page = await t.request().get('/maintenance-mode/').set('Accept', 'text/html').expect(403);
    expect(page.headers['content-type']).to.equal('text/html; charset=utf-8');
    // Someone who only opened the status page is told that, and how to get in: no talk of switching.
    const refused = 'Only superusers can see the maintenance status. Sign in as a superuser first.';
    expect(page.text).to.include('<h1 id="heading">Not allowed</h1>').and.include(refused);
    expect(page.text).to.include('<a href="/">← Back to the site</a>');
    const json = await t.request().get('/maintenance-mode/').set('Accept', 'application/json').expect(403);
    expect(json.body).to.deep.equal({ error: 'forbidden', message: refused });
    const curl = await t.request().get('/maintenance-mode/').expect(403);
    expect(curl.text).to.equal(`${refused}\n`);
    const staff = await t.request().post('/maintenance-mode/on').set('x-user', '{"isStaff":true}').expect(403);
    expect(staff.text).to.equal('Only superusers can switch maintenance mode.\n');
  });

  it('links the status page back to the site and gives each state its own badge', async () => {
    const t = routesApp();
    const badge = async () =>
      (
        /<span class="badge ([a-z-]+)" id="summary">/.exec(
          (await t.request().get('/maintenance-mode/').set('x-user', ALICE)).text,
        ) as RegExpExecArray
      )[1];
    expect(await badge()).to.equal('off');
    await t.service.enable({ start: inSeconds(3600) });
    expect(await badge()).to.equal('scheduled');
    await t.service.enable({ dryRun: true });
    expect(await badge()).to.equal('dry-run');
    await t.service.enable({ readOnly: true });
    expect(await badge()).to.equal('read-only');
    await t.service.enable();
    expect(await badge()).to.equal('on');
    const page = await t.request().get('/maintenance-mode/').set('x-user', ALICE);
    expect(page.text).to.include('<p class="back"><a href="/">← Back to the site</a></p>');
    expect(page.text).to.include('In other languages\n          <span class="hint">Optional, one per line');
  });

  it('makes a dry run real from the status page (Go live), keeping its message', async () => {
    const t = routesApp();
    await t.service.enable({ dryRun: true, message: 'Rehearsal' });
    const page = await t.request().get('/maintenance-mode/').set('x-user', ALICE).expect(200);
    expect(page.text).to.include('id="go-live"');
    await t.request().post('/maintenance-mode/on?next=/maintenance-mode/').set('x-user', ALICE).expect(302);
    expect(await t.service.getStoredState())
      .to.include({ enabled: true, message: 'Rehearsal' })
      .and.not.have.property('dryRun');
  });

  it("says in the demo's banner which part is in maintenance when only a scope is", async () => {
    const service = memoryService();
    const request = () => supertest(createDemoApp({ service }).callback());
    const signIn = await request().post('/login').type('form').send({ username: 'demo', password: 'demo' });
    const cookie = (signIn.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
    await service.enable({ scope: 'checkout' });
    const checkout = await request().get('/checkout').set('Cookie', cookie).expect(200);
    expect(checkout.text).to.include('Maintenance mode is on for checkout: visitors see the maintenance page there');
    const home = await request().get('/').set('Cookie', cookie).expect(200);
    expect(home.text).to.not.include('Maintenance mode is on');
  });
});

describe('pages: a switch whose outcome is unknown', () => {
  it('reads the state again and says what it is now, on the styled page with the way back to the status page', async () => {
    const data = new Map<string, unknown>();
    const writes = { hang: false };
    const adapter = {
      get: async (key: string) => data.get(key),
      set: async (key: string, value: unknown) => {
        if (writes.hang) return new Promise(() => undefined); // a store too slow to answer: the write may still land
        data.set(key, value);
        return true;
      },
      delete: async (key: string) => data.delete(key),
      clear: async () => data.clear(),
    };
    const service = new MaintenanceService({
      store: new Keyv({ store: adapter as never }),
      storeTimeoutMs: 200,
      logger: captureLogger(),
    });
    const app = new Koa();
    app.use(userFromHeader);
    app.use(maintenanceRoutes({ service }).routes());
    writes.hang = true;
    const res = await supertest(app.callback())
      .post('/maintenance-mode/on')
      .set('x-user', '{"username":"alice","isSuperuser":true}')
      .set('Accept', 'text/html')
      .expect(503);
    expect(res.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(res.text).to.include('<h1 id="heading">Outcome unknown</h1>');
    expect(res.text).to.match(/may or may not have happened: .*Read again just now, maintenance mode is off\./s);
    expect(res.text).to.include('<a href="/maintenance-mode/">Maintenance status</a>');
  });
});
