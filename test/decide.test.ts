import { expect } from 'chai';
import { decide, type RequestFacts } from '../src/core/decide.js';
import { compileRules } from '../src/core/rules.js';
import type { MaintenanceState } from '../src/core/state.js';
import { type MaintenanceOptions, resolveOptions } from '../src/koa/options.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const ON: MaintenanceState = { enabled: true };
const OFF: MaintenanceState = { enabled: false };

function run(options: MaintenanceOptions, facts: Partial<RequestFacts>, state: MaintenanceState = ON) {
  const config = resolveOptions(options);
  return decide({ path: '/', host: 'site.test', ...facts }, state, { config, rules: compileRules(config) }, NOW);
}

describe('decide(): the decision order', () => {
  it('passes everything while the state is off', () => {
    expect(run({}, { path: '/x' }, OFF)).to.deep.equal({ blocked: false, rule: 'state-off' });
  });

  it('passes outside the schedule window and blocks inside it', () => {
    const later = { enabled: true, start: '2026-06-01T13:00:00Z' };
    expect(run({}, {}, later).rule).to.equal('state-off');
    const now = { enabled: true, start: '2026-06-01T11:00:00Z', end: '2026-06-01T13:00:00Z' };
    expect(run({}, {}, now).blocked).to.equal(true);
  });

  it('blocks with the maintenance rule when nothing exempts the request', () => {
    expect(run({}, { path: '/shop' })).to.deep.equal({
      blocked: true,
      rule: 'maintenance',
      action: 'respond',
      logout: false,
    });
  });

  it('lets a route forced off through even when every other rule would block, and reads no state for it', () => {
    expect(run({}, { forced: 'off' })).to.deep.equal({ blocked: false, rule: 'forced-off' });
  });

  it('blocks a route forced on even when the state is off and the user is exempt', () => {
    const d = run(
      { ignoreSuperuser: true, ignoreIpAddresses: ['1.2.3.4'] },
      { forced: 'on', user: { isSuperuser: true }, ip: '1.2.3.4' },
      OFF,
    );
    expect(d).to.deep.equal({ blocked: true, rule: 'forced-on', action: 'respond', logout: false });
  });

  it("checks the toggle routes' off URL before users, so a superuser can always switch maintenance off", () => {
    const d = run({ logoutSuperuser: true }, { isToggleOffRoute: true, user: { isSuperuser: true } });
    expect(d.rule).to.equal('toggle-off-url');
  });

  it('checks users before the admin site, tests, IPs and URLs', () => {
    const all: MaintenanceOptions = {
      ignoreStaff: true,
      ignoreAdminSite: true,
      ignoreTests: true,
      ignoreIpAddresses: ['10.0.0.1'],
      ignoreUrls: ['/admin'],
    };
    const facts = { path: '/admin', user: { isStaff: true }, nodeEnv: 'test', ip: '10.0.0.1' };
    expect(run(all, facts).rule).to.equal('ignoreStaff');
    expect(run(all, { ...facts, user: undefined }).rule).to.equal('ignoreAdminSite');
    expect(run(all, { ...facts, user: undefined, path: '/x' }).rule).to.equal('ignoreTests');
    expect(run(all, { ...facts, user: undefined, path: '/x', nodeEnv: 'production' }).rule).to.equal(
      'ignoreIpAddresses',
    );
    expect(run({ ...all, ignoreAdminSite: false }, { path: '/admin', ip: '9.9.9.9' }).rule).to.equal('ignoreUrls');
  });

  it('serves the redirect target instead of redirecting it (no loop), and redirects everything else', () => {
    const o: MaintenanceOptions = { redirectUrl: '/down' };
    expect(run(o, { path: '/down' })).to.deep.equal({ blocked: false, rule: 'redirect-target' });
    expect(run(o, { path: '/down/' }).rule).to.equal('redirect-target');
    expect(run(o, { path: '/shop' })).to.deep.equal({
      blocked: true,
      rule: 'maintenance',
      action: 'redirect',
      logout: false,
    });
    expect(run(o, { path: '/downloads' }).blocked).to.equal(true);
  });

  it('with an absolute redirectUrl, serves the target only on its own host', () => {
    const o: MaintenanceOptions = { redirectUrl: 'https://status.site.test/down' };
    expect(run(o, { path: '/down', host: 'status.site.test' }).rule).to.equal('redirect-target');
    expect(run(o, { path: '/down', host: 'site.test' })).to.include({ blocked: true, action: 'redirect' });
  });
});

describe('decide(): user rules', () => {
  const anonymous = undefined;
  const member = { isAuthenticated: true };
  const staff = { isAuthenticated: true, isStaff: true };
  const superuser = { isAuthenticated: true, isStaff: true, isSuperuser: true };
  const table: Array<[MaintenanceOptions, object | undefined, string | false]> = [
    [{ ignoreAnonymousUser: true }, anonymous, 'ignoreAnonymousUser'],
    [{ ignoreAnonymousUser: true }, member, false],
    [{ ignoreAnonymousUser: true }, { isAuthenticated: false }, 'ignoreAnonymousUser'],
    [{ ignoreAuthenticatedUser: true }, member, 'ignoreAuthenticatedUser'],
    [{ ignoreAuthenticatedUser: true }, {}, 'ignoreAuthenticatedUser'],
    [{ ignoreAuthenticatedUser: true }, anonymous, false],
    [{ ignoreStaff: true }, staff, 'ignoreStaff'],
    [{ ignoreStaff: true }, member, false],
    [{ ignoreStaff: true }, { isAuthenticated: false, isStaff: true }, false],
    [{ ignoreSuperuser: true }, superuser, 'ignoreSuperuser'],
    [{ ignoreSuperuser: true }, staff, false],
    [{ ignoreSuperuser: true }, anonymous, false],
  ];
  for (const [options, user, rule] of table) {
    it(`${JSON.stringify(options)} with user ${JSON.stringify(user)} → ${rule || 'blocked'}`, () => {
      const d = run(options, { user: user as never });
      if (rule === false) expect(d.blocked).to.equal(true);
      else expect(d).to.deep.equal({ blocked: false, rule });
    });
  }
});

describe('decide(): logout applies only to blocked requests', () => {
  it('logs out an authenticated user whose request is blocked', () => {
    expect(run({ logoutAuthenticatedUser: true }, { user: { isAuthenticated: true } })).to.include({ logout: true });
  });
  it('never logs out a user an exemption lets through (django-maintenance-mode issue #191)', () => {
    const d = run({ logoutAuthenticatedUser: true, ignoreIpAddresses: ['10.0.0.1'] }, { user: {}, ip: '10.0.0.1' });
    expect(d).to.deep.equal({ blocked: false, rule: 'ignoreIpAddresses' });
  });
  it('does not log out anonymous requests', () => {
    expect(run({ logoutAuthenticatedUser: true }, {})).to.include({ logout: false });
  });
  it('lets staff and superusers inherit logoutAuthenticatedUser and override it', () => {
    expect(run({ logoutAuthenticatedUser: true }, { user: { isStaff: true } })).to.include({ logout: true });
    expect(run({ logoutAuthenticatedUser: true, logoutStaffUser: false }, { user: { isStaff: true } })).to.include({
      logout: false,
    });
    expect(run({ logoutSuperuser: true }, { user: { isSuperuser: true } })).to.include({ logout: true });
    expect(run({ logoutSuperuser: true }, { user: { isStaff: true } })).to.include({ logout: false });
    expect(run({ logoutAuthenticatedUser: true, logoutSuperuser: false }, { user: { isSuperuser: true } })).to.include({
      logout: false,
    });
  });
  it('never logs out on a route forced on', () => {
    expect(run({ logoutAuthenticatedUser: true }, { forced: 'on', user: {} })).to.include({ logout: false });
  });
});
