import { expect } from 'chai';
import type Koa from 'koa';
import { createTestApp, userFromHeader } from './helpers/app.js';

type User = { isAuthenticated?: boolean; isStaff?: boolean; isSuperuser?: boolean; name?: string };

const auth = (app: Koa) => app.use(userFromHeader);

describe('maintenance(): users', () => {
  it('blocks anonymous and authenticated users by default', async () => {
    const t = createTestApp({}, auth);
    await t.service.enable();
    await t.request().get('/').expect(503);
    await t.request().get('/').set('x-user', '{"isSuperuser":true}').expect(503);
  });

  it('ignoreAnonymousUser lets requests without a user through', async () => {
    const t = createTestApp({ ignoreAnonymousUser: true }, auth);
    await t.service.enable();
    const r = await t.request().get('/').expect(200);
    expect(r.body.decision).to.deep.equal({ blocked: false, rule: 'ignoreAnonymousUser' });
    await t.request().get('/').set('x-user', '{}').expect(503);
  });

  it('ignoreAuthenticatedUser, ignoreStaff and ignoreSuperuser let those users through', async () => {
    const cases: Array<[object, User, number]> = [
      [{ ignoreAuthenticatedUser: true }, { name: 'ann' }, 200],
      [{ ignoreAuthenticatedUser: true }, { isAuthenticated: false }, 503],
      [{ ignoreStaff: true }, { isStaff: true }, 200],
      [{ ignoreStaff: true }, { isSuperuser: true }, 503],
      [{ ignoreSuperuser: true }, { isSuperuser: true }, 200],
      [{ ignoreSuperuser: true }, { isStaff: true }, 503],
    ];
    for (const [options, user, status] of cases) {
      const t = createTestApp(options, auth);
      await t.service.enable();
      await t.request().get('/').set('x-user', JSON.stringify(user)).expect(status);
    }
  });

  it('uses getUser (sync or async) instead of ctx.state.user', async () => {
    const t = createTestApp({
      ignoreStaff: true,
      getUser: async (ctx) => (ctx.get('x-staff') ? { isStaff: true } : undefined),
    });
    await t.service.enable();
    await t.request().get('/').set('x-staff', '1').expect(200);
    await t.request().get('/').expect(503);
  });

  it('treats a throwing getUser as anonymous and reports the error on the app', async () => {
    const t = createTestApp({
      ignoreAnonymousUser: true,
      getUser: () => {
        throw new Error('session store down');
      },
    });
    await t.service.enable();
    await t.request().get('/').expect(200);
    expect(t.errors.map((e) => e.message)).to.deep.equal(['session store down']);
  });

  it('does not call getUser while maintenance is off', async () => {
    let calls = 0;
    const t = createTestApp({
      ignoreStaff: true,
      getUser: () => {
        calls++;
        return undefined;
      },
    });
    await t.request().get('/').expect(200);
    expect(calls).to.equal(0);
  });
});

describe('maintenance(): logout', () => {
  /** An app with a fake session and ctx.logout, reporting what was cleared. */
  function sessionApp(options: object) {
    const seen: Array<{ loggedOut: boolean; session: unknown; user: unknown }> = [];
    const t = createTestApp(options, (app) => {
      app.use(async (ctx, next) => {
        const c = ctx as typeof ctx & { session: unknown; logout: () => Promise<void> };
        const record = { loggedOut: false, session: undefined as unknown, user: undefined as unknown };
        c.session = { id: 's1' };
        c.logout = async () => {
          record.loggedOut = true;
        };
        const raw = ctx.get('x-user');
        if (raw) ctx.state.user = JSON.parse(raw);
        await next();
        record.session = c.session;
        record.user = ctx.state.user;
        seen.push(record);
      });
    });
    return { ...t, seen };
  }

  it('logs out an authenticated user whose request is blocked (ctx.logout, session, state.user)', async () => {
    const t = sessionApp({ logoutAuthenticatedUser: true });
    await t.service.enable();
    await t.request().get('/').set('x-user', '{"name":"ann"}').expect(503);
    expect(t.seen[0]).to.deep.equal({ loggedOut: true, session: null, user: undefined });
  });

  it('serves a logged-out user as anonymous when ignoreAnonymousUser is on (as django-maintenance-mode does)', async () => {
    const t = sessionApp({ logoutAuthenticatedUser: true, ignoreAnonymousUser: true });
    await t.service.enable();
    const r = await t.request().get('/page').set('x-user', '{"name":"ann"}').expect(200);
    expect(r.body).to.include({ ok: true, path: '/page', maintenanceMode: true });
    expect(r.body.decision).to.deep.equal({ blocked: false, rule: 'ignoreAnonymousUser' });
    expect(t.seen[0]).to.deep.equal({ loggedOut: true, session: null, user: undefined });
    // Without ignoreAnonymousUser the logged-out request is still blocked.
    const strict = sessionApp({ logoutAuthenticatedUser: true });
    await strict.service.enable();
    await strict.request().get('/page').set('x-user', '{"name":"ann"}').expect(503);
    expect(strict.seen[0].loggedOut).to.equal(true);
  });

  it('keeps the request blocked when the logout hook fails, even with ignoreAnonymousUser', async () => {
    const t = sessionApp({
      logoutAuthenticatedUser: true,
      ignoreAnonymousUser: true,
      logout: () => {
        throw new Error('session store down');
      },
    });
    await t.service.enable();
    await t.request().get('/').set('x-user', '{"name":"ann"}').expect(503);
    expect(t.errors.map((e) => e.message)).to.deep.equal(['session store down']);
  });

  it('does not log out a superuser an exemption lets through (django issue #191)', async () => {
    const t = sessionApp({ logoutAuthenticatedUser: true, ignoreSuperuser: true });
    await t.service.enable();
    await t.request().get('/').set('x-user', '{"isSuperuser":true}').expect(200);
    expect(t.seen[0]).to.include({ loggedOut: false }).and.have.deep.property('session', { id: 's1' });
  });

  it('does not log out anyone while maintenance is off', async () => {
    const t = sessionApp({ logoutAuthenticatedUser: true });
    await t.request().get('/').set('x-user', '{}').expect(200);
    expect(t.seen[0].loggedOut).to.equal(false);
  });

  it('logoutStaffUser false keeps blocked staff logged in while other users are logged out', async () => {
    const t = sessionApp({ logoutAuthenticatedUser: true, logoutStaffUser: false });
    await t.service.enable();
    await t.request().get('/').set('x-user', '{"isStaff":true}').expect(503);
    await t.request().get('/').set('x-user', '{}').expect(503);
    expect(t.seen.map((s) => s.loggedOut)).to.deep.equal([false, true]);
  });

  it('calls a custom logout hook instead, and still answers 503 when it throws', async () => {
    const calls: string[] = [];
    const t = sessionApp({
      logoutSuperuser: true,
      logout: async (ctx: Koa.Context) => {
        calls.push(ctx.path);
        throw new Error('cannot reach session store');
      },
    });
    await t.service.enable();
    await t.request().get('/x').set('x-user', '{"isSuperuser":true}').expect(503);
    expect(calls).to.deep.equal(['/x']);
    expect(t.errors[0].message).to.equal('cannot reach session store');
  });
});
