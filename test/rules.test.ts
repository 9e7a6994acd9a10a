import { expect } from 'chai';
import { compileIpMatcher, normalizeIp } from '../src/core/ip.js';
import { compileRules, matchesPrefix, normalizePath } from '../src/core/rules.js';
import { resolveOptions } from '../src/koa/options.js';

describe('rules: client IP matching', () => {
  const match = compileIpMatcher(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1', /^172\.16\.\d+\.1$/]);
  const cases: Array<[string, boolean]> = [
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['::ffff:10.9.9.9', true],
    ['::FFFF:192.168.1.7', true],
    ['2001:db8:1::5', true],
    ['2001:db9::5', false],
    ['::1', true],
    ['[::1]', true],
    ['fe80::1%eth0', false],
    ['172.16.5.1', true],
    ['172.16.5.2', false],
    ['not-an-ip', false],
  ];
  for (const [ip, expected] of cases) {
    it(`${expected ? 'passes' : 'does not pass'} ${ip}`, () => expect(match(ip)).to.equal(expected));
  }
  it('does not pass a missing address', () => expect(match(undefined)).to.equal(false));
  it('normalises IPv4-mapped IPv6 in the configuration too', () => {
    expect(compileIpMatcher(['::ffff:127.0.0.1'])('127.0.0.1')).to.equal(true);
  });
  it('normalises addresses as Node reports them', () => {
    expect(normalizeIp('::ffff:127.0.0.1')).to.equal('127.0.0.1');
    expect(normalizeIp('[2001:DB8::1]')).to.equal('2001:db8::1');
  });
  it('applies RegExps to the normalised address', () => {
    expect(compileIpMatcher([/^127\./])('::ffff:127.0.0.1')).to.equal(true);
  });
});

describe('rules: URL prefixes on a segment boundary', () => {
  it('matches the prefix itself and paths below it, not longer names', () => {
    expect(matchesPrefix('/api', '/api')).to.equal(true);
    expect(matchesPrefix('/api/v1/x', '/api')).to.equal(true);
    expect(matchesPrefix('/apix', '/api')).to.equal(false);
    expect(matchesPrefix('/ap', '/api')).to.equal(false);
  });
  it('treats "/api/" in the options like "/api"', () => {
    const r = compileRules(resolveOptions({ ignoreUrls: ['/api/'] }));
    expect([r.isIgnoredUrl('/api'), r.isIgnoredUrl('/api/x'), r.isIgnoredUrl('/apix')]).to.deep.equal([
      true,
      true,
      false,
    ]);
  });
  it('tests RegExps against the path', () => {
    const r = compileRules(resolveOptions({ ignoreUrls: [/\.(css|js)$/] }));
    expect([r.isIgnoredUrl('/a/site.css'), r.isIgnoredUrl('/a/site.cssx')]).to.deep.equal([true, false]);
  });
  it('matches the admin site at adminPath and below', () => {
    const r = compileRules(resolveOptions({ adminPath: '/backoffice' }));
    expect([
      r.isAdminPath('/backoffice'),
      r.isAdminPath('/backoffice/users'),
      r.isAdminPath('/backofficex'),
    ]).to.deep.equal([true, true, false]);
  });
});

describe('rules: normalizePath() closes traversal past an exemption', () => {
  const cases: Array<[string, string]> = [
    ['/static/../admin', '/admin'],
    ['/static/%2e%2e/secret', '/secret'],
    ['/static%2F..%2Fsecret', '/secret'],
    ['//static//a', '/static/a'],
    ['/static/./a', '/static/a'],
    ['/a\\..\\b', '/b'],
    ['/ok/%E0%A4%A', '/ok/%E0%A4%A'],
    ['/plain/path', '/plain/path'],
  ];
  for (const [raw, normal] of cases) {
    it(`${raw} → ${normal}`, () => expect(normalizePath(raw)).to.equal(normal));
  }
});
