/**
 * An older Koa 2 app: the parts of the suite that touch Koa's API (the middleware, its page and JSON answers, bypasses,
 * hold, forced routes, the toggle routes, the control API, routing-controllers) run again with the oldest versions
 * the peer ranges admit: Koa 2.13, @koa/router 9.4 and routing-controllers 0.10.4 (the `koa2`, `oldest-koa-router`
 * and `oldest-routing-controllers` aliases in devDependencies). The rest of the suite runs on the newest.
 */
import { expect } from 'chai';
import { suitesWithPeers } from './helpers/peers.js';

/** The test files that exercise Koa's API, by name. */
const KOA_FILES = [
  'middleware-response',
  'middleware-bypass',
  'middleware-users',
  'negotiation',
  'pages',
  'hold',
  'force',
  'toggle-routes',
  'control-api',
  'routing-controllers',
  'live-events',
  'live-page',
  'retry-jitter',
];

/** Whether a module of the installed package `alias` has been loaded. */
const loadedFrom = (alias: string) => Object.keys(require.cache).some((file) => file.split(/[\\/]/).includes(alias));

describe('on an older Koa 2 app (Koa 2.13, @koa/router 9.4, routing-controllers 0.10.4)', () => {
  it('runs these suites with the oldest versions, not the newest', () => {
    expect(require('koa/package.json').version).to.match(/^2\.13\./);
    expect(require('@koa/router/package.json').version).to.equal('9.4.0');
    expect(require('routing-controllers/package.json').version).to.equal('0.10.4');
    for (const alias of ['koa2', 'oldest-koa-router', 'oldest-routing-controllers']) {
      expect(loadedFrom(alias), alias).to.equal(true);
    }
  });
  suitesWithPeers(
    { koa: 'koa2', '@koa/router': 'oldest-koa-router', 'routing-controllers': 'oldest-routing-controllers' },
    KOA_FILES,
  );
});
