import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import supertest from 'supertest';
import {
  ACCEPT_LANGUAGE_LIMITS,
  CATALOGS,
  type CliIo,
  MaintenanceError,
  main,
  maintenance,
  maintenanceRoutes,
  negotiateLocale,
} from '../src/index.js';
import { createTestApp, inSeconds, memoryService, userFromHeader } from './helpers/app.js';

const LANGS = ['en', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'ja', 'zh'];

describe('languages: the page in the visitor’s language', () => {
  it('ships complete, distinct catalogs for en, de, fr, es, it, pt, nl, pl, ja and zh', () => {
    for (const lang of LANGS) expect(Object.keys(CATALOGS), lang).to.include(lang);
    const keys = Object.keys(CATALOGS.en).sort();
    for (const lang of LANGS) {
      expect(Object.keys(CATALOGS[lang]).sort(), lang).to.deep.equal(keys);
      for (const key of keys)
        expect(CATALOGS[lang][key as keyof (typeof CATALOGS)['en']], `${lang}.${key}`)
          .to.be.a('string')
          .and.not.equal('');
      if (lang !== 'en') expect(CATALOGS[lang].heading, lang).to.not.equal(CATALOGS.en.heading);
      expect(CATALOGS[lang].timeLeft, lang).to.include('{time}');
    }
  });

  it('negotiates Accept-Language with q-values, regions and the default', () => {
    const all = Object.keys(CATALOGS);
    expect(negotiateLocale('de-AT,de;q=0.9,en;q=0.8', all, 'en')).to.equal('de');
    expect(negotiateLocale('pt-BR', all, 'en')).to.equal('pt');
    expect(negotiateLocale('sv, fr;q=0.5', all, 'en')).to.equal('fr');
    expect(negotiateLocale('fr;q=0.1, ja;q=0.9', all, 'en')).to.equal('ja');
    expect(negotiateLocale('sv, da', all, 'en')).to.equal('en');
    expect(negotiateLocale(undefined, all, 'de')).to.equal('de');
    expect(negotiateLocale('de;q=0, nl', all, 'en')).to.equal('nl');
    expect(negotiateLocale('zh-Hans-CN', all, 'en')).to.equal('zh');
  });

  it('negotiates only the start of a hostile header: 256 characters and 16 ranges at most', async () => {
    const all = Object.keys(CATALOGS);
    const junk = (n: number) => Array.from({ length: n }, (_, i) => `x-${i}`).join(',');
    expect(negotiateLocale(`${junk(10)},de`, all, 'en')).to.equal('de');
    expect(negotiateLocale(`${junk(16)},de`, all, 'en')).to.equal('en'); // the 17th range is not read
    const long = `${'x-aaaaaaa,'.repeat(30)}fr`; // fr starts after 300 characters
    expect(long.indexOf('fr')).to.be.above(ACCEPT_LANGUAGE_LIMITS.chars);
    expect(negotiateLocale(long, all, 'en')).to.equal('en');
    expect(negotiateLocale(`fr;q=0.5,${'x'.repeat(20_000)}`, all, 'en')).to.equal('fr'); // cut at a comma
    const t = createTestApp();
    await t.service.enable({ message: { en: 'Back soon', de: 'Gleich zurück' } });
    const r = await t
      .request()
      .get('/')
      .set('Accept-Language', `de,${junk(1500)}`)
      .expect(503);
    expect(r.headers['content-language']).to.equal('de');
  });

  it('answers in German for a German browser: lang, texts, Content-Language and Vary', async () => {
    const t = createTestApp();
    await t.service.enable({ end: inSeconds(3600) });
    const r = await t.request().get('/').set('Accept-Language', 'de-DE,de;q=0.9,en;q=0.5').expect(503);
    expect(r.text).to.include('<html lang="de">');
    expect(r.text).to.include('<title>Wartungsarbeiten</title>');
    expect(r.text).to.include(CATALOGS.de.heading).and.include(CATALOGS.de.defaultMessage);
    expect(r.text).to.include('Voraussichtlich wieder erreichbar ab').and.include('data-pattern="noch {time}"');
    expect(r.headers['content-language']).to.equal('de');
    expect(r.headers.vary).to.match(/Accept-Language/);
    const en = await t.request().get('/').expect(503);
    expect(en.text).to.include('<html lang="en">').and.include('We’ll be back soon');
    const ja = await t.request().get('/').set('Accept-Language', 'ja').expect(503);
    expect(ja.text).to.include('<html lang="ja">').and.include(CATALOGS.ja.heading);
  });

  it('picks the message in the negotiated language, in the page, JSON and problem answers', async () => {
    const t = createTestApp({ responseType: 'auto' });
    await t.service.enable({ message: { en: 'Back at 3am', de: 'Zurück um 3 Uhr', fr: 'Retour à 3 h' } });
    const de = await t.request().get('/').set('Accept-Language', 'de').set('Accept', 'text/html').expect(503);
    expect(de.text).to.include('Zurück um 3 Uhr').and.not.include('Back at 3am');
    const json = await t
      .request()
      .get('/')
      .set('Accept-Language', 'fr-CH')
      .set('Accept', 'application/json')
      .expect(503);
    expect(json.body).to.include({ maintenance: true, message: 'Retour à 3 h' });
    const problem = await t
      .request()
      .get('/')
      .set('Accept-Language', 'es')
      .set('Accept', 'application/problem+json')
      .expect(503);
    // No Spanish text: the default language's message, in the Spanish page frame.
    expect(JSON.parse(problem.text)).to.include({ detail: 'Back at 3am' });
    expect(problem.headers['content-language']).to.equal('es');
    const plain = createTestApp({ responseType: 'problem' });
    await plain.service.enable();
    const es = await plain.request().get('/').set('Accept-Language', 'es').expect(503);
    expect(JSON.parse(es.text).detail).to.equal(CATALOGS.es.problemDetail);
  });

  it('adds and overrides texts with translations, and restricts the choice with locales', async () => {
    const t = createTestApp({
      translations: {
        de: { heading: 'Gleich wieder da' },
        sv: { ...CATALOGS.en, heading: 'Vi är snart tillbaka', title: 'Underhåll' },
      },
    });
    await t.service.enable();
    expect((await t.request().get('/').set('Accept-Language', 'de')).text).to.include('Gleich wieder da');
    const sv = await t.request().get('/').set('Accept-Language', 'sv-SE');
    expect(sv.text).to.include('<html lang="sv">').and.include('Vi är snart tillbaka');
    const only = createTestApp({ locales: ['en'] });
    await only.service.enable();
    const r = await only.request().get('/').set('Accept-Language', 'de');
    expect(r.text).to.include('<html lang="en">');
    expect(r.headers.vary ?? '').to.not.match(/Accept-Language/);
    expect(r.headers['content-language']).to.equal('en');
  });

  it('refuses bad language options at startup, naming them', () => {
    const service = memoryService();
    expect(() => maintenance({ service, translations: { xx: { heading: 'x' } } })).to.throw(
      MaintenanceError,
      /translations\.xx.*missing/,
    );
    expect(() => maintenance({ service, translations: { de: { hedaing: 'x' } as never } })).to.throw(
      MaintenanceError,
      /heading/,
    );
    expect(() => maintenance({ service, translations: { 'not a tag': {} } })).to.throw(
      MaintenanceError,
      /language tag/,
    );
    expect(() => maintenance({ service, locales: ['en', 'sv'] })).to.throw(MaintenanceError, /sv.*no catalog/);
    expect(() => maintenance({ service, locales: ['de'], defaultLocale: 'en' })).to.throw(
      MaintenanceError,
      /defaultLocale/,
    );
  });

  it('validates a message per language: tags, strings and the length limit', async () => {
    const service = memoryService();
    for (const bad of [{}, { 'de de': 'x' }, { de: 42 }, { de: 'x'.repeat(1001) }]) {
      const err = await service.enable({ message: bad as never }).catch((e) => e);
      expect(err, JSON.stringify(bad).slice(0, 40)).to.be.instanceOf(MaintenanceError);
    }
    const err = await service.enable({ message: { de: 'x'.repeat(1001) } }).catch((e) => e);
    expect(err.message).to.match(/^message\.de is 1001 characters long; the limit is 1000/);
  });

  it('takes per-language messages from the CLI and from the status page form', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-lang-'));
    try {
      const io: CliIo = { stdout: { write: () => 0 }, stderr: { write: () => 0 }, env: {}, cwd: dir };
      const code = await main(
        ['on', '--message', 'Back soon', '--message-in', 'de=Bald zurück', '--message-in', 'fr=Bientôt'],
        io,
      );
      expect(code).to.equal(0);
      const stored = JSON.parse(readFileSync(join(dir, 'maintenance_mode_state.json'), 'utf8'));
      expect(stored.message).to.deep.equal({ en: 'Back soon', de: 'Bald zurück', fr: 'Bientôt' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const service = memoryService();
    const app = new Koa();
    app.use(bodyParser());
    app.use(userFromHeader);
    app.use(maintenanceRoutes({ service }).routes());
    await supertest(app.callback())
      .post('/maintenance-mode/on')
      .set('x-user', '{"isSuperuser":true}')
      .type('form')
      .send({ message: 'Upgrade', messages: 'de: Aktualisierung\r\nnl = Update bezig\nnonsense line' })
      .expect(302);
    expect((await service.getState()).message).to.deep.equal({
      en: 'Upgrade',
      de: 'Aktualisierung',
      nl: 'Update bezig',
    });
  });
});
