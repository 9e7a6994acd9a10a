import { join } from 'node:path';
import { expect } from 'chai';
import { packagedViewsDir } from '../src/koa/render.js';
import { createTestApp, inSeconds } from './helpers/app.js';

const fixtures = join(__dirname, '..', '..', 'test', 'fixtures');

describe('views: the packaged 503 page', () => {
  it('is found by walking up from the compiled code', () => {
    expect(packagedViewsDir()).to.match(/views$/);
  });

  it('is a self-contained, accessible page: lang, viewport, title, one h1, no external assets', async () => {
    const t = createTestApp();
    await t.service.enable();
    const html = (await t.request().get('/').expect(503)).text;
    expect(html).to.match(/<html lang="en">/);
    expect(html).to.include('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).to.match(/<title>Down for maintenance<\/title>/);
    expect(html.match(/<h1[\s>]/g)).to.have.length(1);
    expect(html).to.not.match(/(src|href)=["']?(https?:)?\/\//);
    expect(html).to.include('prefers-color-scheme: dark');
  });

  it('shows the message, or a default text without one', async () => {
    const t = createTestApp();
    await t.service.enable({ message: 'We are moving to a bigger server.' });
    expect((await t.request().get('/')).text).to.include('<p class="message">We are moving to a bigger server.</p>');
    await t.service.enable();
    expect((await t.request().get('/')).text).to.include('down for scheduled maintenance');
  });

  it('shows the expected end as a <time> element (readable without JavaScript)', async () => {
    const t = createTestApp();
    const end = inSeconds(5400);
    await t.service.enable({ end });
    const html = (await t.request().get('/')).text;
    const iso = new Date(end).toISOString();
    expect(html).to.include(`<time id="end" datetime="${iso}">${new Date(end).toUTCString()}</time>`);
    expect(html).to.include('id="countdown"');
  });

  it('escapes the message and context values (no XSS through the state)', async () => {
    const t = createTestApp({ getContext: () => ({ heading: '<img src=x onerror=alert(2)>' }) });
    await t.service.enable({ message: '<script>alert(1)</script>"&' });
    const html = (await t.request().get('/')).text;
    expect(html).to.not.include('<script>alert(1)</script>');
    expect(html).to.include('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;');
    expect(html).to.include('&lt;img src=x onerror=alert(2)&gt;');
  });
});

describe('views: app templates', () => {
  it('searches viewsDir before the packaged views and passes getContext values', async () => {
    const t = createTestApp({ viewsDir: join(fixtures, 'views'), getContext: () => ({ team: 'Platform' }) });
    await t.service.enable({ message: 'custom <b>msg</b>' });
    const html = (await t.request().get('/').expect(503)).text;
    expect(html).to.include('<h1>Custom page</h1>');
    expect(html).to.include('<p id="msg">custom &lt;b&gt;msg&lt;/b&gt;</p>');
    expect(html).to.include('<p id="team">Platform</p>');
  });

  it('lets an app template extend the packaged page', async () => {
    const t = createTestApp({ viewsDir: [join(fixtures, 'extend-views')], template: 'extends-packaged.html' });
    await t.service.enable({ message: 'extended' });
    const html = (await t.request().get('/').expect(503)).text;
    expect(html).to.include('<title>Shop closed</title>');
    expect(html).to.include('extended');
  });

  it('sends a plain-text 503 (never a 500) when rendering fails, and reports the error', async () => {
    // The filter is unknown only at render time, so maintenance() accepts the template at startup.
    const t = createTestApp({ viewsDir: join(fixtures, 'broken-views'), template: 'broken.html' });
    await t.service.enable();
    const r = await t.request().get('/').expect(503);
    expect(r.headers['content-type']).to.equal('text/plain; charset=utf-8');
    expect(r.text).to.match(/maintenance in progress/);
    expect(r.headers['retry-after']).to.equal('3600');
    expect(t.errors[0].message).to.match(/nosuchfilter/);
  });

  it('sends the plain-text 503 when getContext throws', async () => {
    const t = createTestApp({
      getContext: () => {
        throw new Error('context failed');
      },
    });
    await t.service.enable();
    const r = await t.request().get('/').expect(503);
    expect(r.text).to.match(/maintenance in progress/);
    expect(t.errors[0].message).to.equal('context failed');
  });
});
