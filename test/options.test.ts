import { expect } from 'chai';
import Koa from 'koa';
import { DEFAULTS, MaintenanceError, maintenance } from '../src/index.js';
import { resolveOptions } from '../src/koa/options.js';
import { memoryService } from './helpers/app.js';

const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
  [
    'unknown responseType',
    { responseType: 'xml' },
    /^responseType must be 'html', 'json', 'problem', 'auto' or a function/,
  ],
  ['statusCode below 100', { statusCode: 99 }, /^statusCode must be an integer HTTP status between 100 and 599/],
  ['statusCode above 599', { statusCode: 600 }, /^statusCode must be an integer/],
  ['fractional statusCode', { statusCode: 503.5 }, /^statusCode must be an integer/],
  ['string statusCode', { statusCode: '503' }, /^statusCode must be an integer/],
  ['bad IP', { ignoreIpAddresses: ['10.0.0.300'] }, /^ignoreIpAddresses\[0\] must be an IP address, a CIDR/],
  [
    'bad CIDR prefix (v4)',
    { ignoreIpAddresses: ['10.0.0.0/33'] },
    /ignoreIpAddresses\[0\].*invalid prefix length \(0-32/,
  ],
  [
    'bad CIDR prefix (v6)',
    { ignoreIpAddresses: ['fd00::/129'] },
    /ignoreIpAddresses\[0\].*invalid prefix length \(0-128/,
  ],
  ['hostname as IP', { ignoreIpAddresses: ['localhost'] }, /ignoreIpAddresses\[0\].*not an IPv4\/IPv6 address/],
  ['ignoreIpAddresses not an array', { ignoreIpAddresses: '10.0.0.1' }, /^ignoreIpAddresses must be an array/],
  ['global RegExp in IPs', { ignoreIpAddresses: [/^10\./g] }, /^ignoreIpAddresses\[0\] must not use the g or y flag/],
  ['"/" in ignoreUrls', { ignoreUrls: ['/api', '/'] }, /^ignoreUrls\[1\] must not be "\/"/],
  ['"//" in ignoreUrls', { ignoreUrls: ['//'] }, /^ignoreUrls\[0\] must not be "\/"/],
  ['relative path in ignoreUrls', { ignoreUrls: ['api'] }, /^ignoreUrls\[0\] must be a path starting with "\/"/],
  ['sticky RegExp in ignoreUrls', { ignoreUrls: [/^\/api/y] }, /^ignoreUrls\[0\] must not use the g or y flag/],
  ['number in ignoreUrls', { ignoreUrls: [42] }, /^ignoreUrls\[0\] must be a string or a RegExp/],
  ['redirectUrl "/"', { redirectUrl: '/' }, /^redirectUrl must not target "\/"/],
  ['redirectUrl "/?x=1"', { redirectUrl: '/?x=1' }, /^redirectUrl must not target "\/"/],
  ['redirectUrl without scheme', { redirectUrl: 'maintenance.html' }, /^redirectUrl must be a path/],
  ['protocol-relative redirectUrl', { redirectUrl: '//evil.example/x' }, /^redirectUrl must be a path/],
  ['javascript: redirectUrl', { redirectUrl: 'javascript:alert(1)' }, /^redirectUrl must be a path/],
  ['negative retryAfter', { retryAfter: -1 }, /^retryAfter must be a whole number of seconds >= 0, or null/],
  ['fractional retryAfter', { retryAfter: 1.5 }, /^retryAfter must be a whole number/],
  ['non-function getUser', { getUser: 'user' }, /^getUser must be a function/],
  ['non-function logout', { logout: true }, /^logout must be a function/],
  ['non-function getClientIpAddress', { getClientIpAddress: {} }, /^getClientIpAddress must be a function/],
  ['non-function getContext', { getContext: { a: 1 } }, /^getContext must be a function/],
  ['non-boolean ignoreStaff', { ignoreStaff: 'yes' }, /^ignoreStaff must be true or false; received "yes"/],
  ['non-boolean ignoreTests', { ignoreTests: 1 }, /^ignoreTests must be true or false/],
  ['non-boolean logoutSuperuser', { logoutSuperuser: 'no' }, /^logoutSuperuser must be true or false/],
  ['adminPath without slash', { adminPath: 'admin' }, /^adminPath must be a path starting with "\/"/],
  ['adminPath "/"', { adminPath: '/' }, /^adminPath must not be "\/"/],
  ['empty template', { template: ' ' }, /^template must be a template file name/],
  ['missing template', { template: 'nope.html' }, /^template must name a template found in/],
  ['missing viewsDir', { viewsDir: '/definitely/not/here' }, /^viewsDir\[0\] must be an existing directory/],
  ['viewsDir of numbers', { viewsDir: [1] }, /^viewsDir must be a directory path or an array/],
  ['service that is not a service', { service: {} }, /^service must be a MaintenanceService/],
];

describe('maintenance(options): invalid options fail fast at startup', () => {
  for (const [label, options, message] of invalid) {
    it(`rejects ${label}`, () => {
      expect(() => maintenance({ service: memoryService(), ...options } as never))
        .to.throw(MaintenanceError, message)
        .with.property('code', 'ERR_MAINTENANCE_INVALID_OPTION');
    });
  }

  it('shows the received value in the message', () => {
    expect(() => maintenance({ statusCode: 700 })).to.throw(/received 700\./);
    expect(() => maintenance({ ignoreUrls: [/x/g] })).to.throw(/received \/x\/g\./);
  });

  it('suggests the nearest name for a misspelt option', () => {
    expect(() => maintenance({ ignoreSuperUser: true } as never)).to.throw(
      MaintenanceError,
      /^Unknown maintenance\(\) option `ignoreSuperUser`\. Did you mean `ignoreSuperuser`\?/,
    );
    expect(() => maintenance({ retryAfterSeconds: 10 } as never)).to.throw(/Did you mean `retryAfter`\?/);
    expect(() => maintenance({ ignoreIpAdresses: [] } as never)).to.throw(/Did you mean `ignoreIpAddresses`\?/);
  });

  it('maps django setting names to the option', () => {
    expect(() => maintenance({ MAINTENANCE_MODE_IGNORE_STAFF: true } as never)).to.throw(
      /Did you mean `ignoreStaff`\?/,
    );
    expect(() => maintenance({ MAINTENANCE_MODE_REDIRECT_URL: '/x' } as never)).to.throw(
      /Did you mean `redirectUrl`\?/,
    );
  });

  it('lists the known options when nothing is close', () => {
    expect(() => maintenance({ zzzzzzzzzzzz: 1 } as never)).to.throw(/Known options: service, ignoreAdminSite/);
  });

  it('recognises app.use(maintenance) and says to call it', () => {
    const app = new Koa();
    const ctx = app.createContext({} as never, {} as never);
    expect(() => (maintenance as unknown as (c: unknown, n: unknown) => void)(ctx, () => undefined))
      .to.throw(MaintenanceError, /Write `app.use\(maintenance\(\)\)`/)
      .with.property('code', 'ERR_MAINTENANCE_MISUSE');
  });

  it('rejects a non-object options argument', () => {
    expect(() => maintenance('html' as never)).to.throw(MaintenanceError, /takes an options object/);
  });
});

describe('maintenance(options): defaults', () => {
  it('fills every option from DEFAULTS, and undefined means "use the default"', () => {
    const c = resolveOptions({ statusCode: undefined, adminPath: undefined });
    expect(c.statusCode).to.equal(DEFAULTS.statusCode).and.to.equal(503);
    expect(c.retryAfter).to.equal(3600);
    expect(c.adminPath).to.equal('/admin');
    expect(c.responseType).to.equal('html');
    expect(c.template).to.equal('503.html');
    expect(c.ignoreIpAddresses).to.deep.equal([]);
    expect(c.ignoreUrls).to.deep.equal([]);
    for (const k of [
      'ignoreAdminSite',
      'ignoreAnonymousUser',
      'ignoreAuthenticatedUser',
      'ignoreStaff',
      'ignoreSuperuser',
      'ignoreTests',
    ] as const) {
      expect(c[k], k).to.equal(false);
    }
  });

  it('lets staff and superuser logout inherit logoutAuthenticatedUser unless set', () => {
    const inherited = resolveOptions({ logoutAuthenticatedUser: true });
    expect([inherited.logoutStaffUser, inherited.logoutSuperuser]).to.deep.equal([true, true]);
    const own = resolveOptions({ logoutAuthenticatedUser: true, logoutSuperuser: false });
    expect([own.logoutStaffUser, own.logoutSuperuser]).to.deep.equal([true, false]);
  });

  it('treats retryAfter 0 like null (no header)', () => {
    expect(resolveOptions({ retryAfter: 0 }).retryAfter).to.equal(null);
    expect(resolveOptions({ retryAfter: null }).retryAfter).to.equal(null);
  });

  it('accepts a single viewsDir string and normalises a trailing slash on adminPath', () => {
    const c = resolveOptions({ viewsDir: 'views', adminPath: '/backoffice/' });
    expect(c.viewsDir).to.deep.equal(['views']);
    expect(c.adminPath).to.equal('/backoffice');
  });
});
