/**
 * Contract scenarios of what every store keeps: the state (its round trip and revisions), the history, scopes,
 * leases and API tokens, written by one service and read by another on the same store.
 */
import assert from 'node:assert/strict';
import { sleep, until } from './kit.js';
import { codeOf, type Scenario } from './scenario.js';

const roundTrip: Scenario = {
  title: 'state: a switch on is read back whole by another service, a switch off too; every write bumps the revision',
  async run(kit) {
    const a = await kit.service();
    const b = await kit.service();
    await a.disable({ by: `${kit.tag}-setup` });
    const before = (await b.getStoredState()).revision ?? 0;
    const end = new Date(Date.now() + 3_600_000).toISOString();
    const message = { en: 'Back soon', de: 'Bald zurück' };
    await a.enable({ message, end, by: `${kit.tag}-a`, readOnly: true });
    const on = await b.getStoredState();
    assert.equal(on.enabled, true);
    assert.deepEqual(on.message, message);
    assert.equal(Date.parse(on.end as string), Date.parse(end));
    assert.equal(on.updatedBy, `${kit.tag}-a`);
    assert.equal(on.readOnly, true);
    assert.ok((on.revision ?? 0) > before, `revision after a switch: ${on.revision}, before: ${before}`);
    assert.equal(await b.isEnabled(), true);
    await b.disable({ by: `${kit.tag}-b` });
    const off = await a.getStoredState();
    assert.equal(off.enabled, false);
    assert.equal(off.updatedBy, `${kit.tag}-b`);
    assert.ok((off.revision ?? 0) > (on.revision ?? 0), `revision after a second switch: ${off.revision}`);
    assert.equal(await a.isEnabled(), false);
  },
};

const historyInOrder: Scenario = {
  title: 'history: every switch of any service, newest first, with who, what and its revision, in revision order',
  async run(kit) {
    const a = await kit.service();
    const b = await kit.service();
    const t = kit.tag;
    await a.disable({ by: `${t}-0` });
    await a.enable({ by: `${t}-1`, message: 'one', source: 'contract' });
    await b.disable({ by: `${t}-2` });
    await a.enable({ scope: `${t}-s`, by: `${t}-3` });
    const entries = (await b.history(50)).filter((e) => e.by?.startsWith(t));
    assert.deepEqual(
      entries.map((e) => e.by),
      [`${t}-3`, `${t}-2`, `${t}-1`, `${t}-0`],
    );
    assert.deepEqual(
      entries.slice(0, 3).map((e) => [e.from, e.to, e.scope]),
      [
        ['off', 'on', `${t}-s`],
        ['on', 'off', undefined],
        ['off', 'on', undefined],
      ],
    );
    assert.deepEqual(entries[2].message, 'one');
    assert.equal(entries[2].source, 'contract');
    const revisions = entries.map((e) => e.revision ?? Number.NaN);
    for (let i = 1; i < revisions.length; i++) {
      assert.ok(revisions[i - 1] > revisions[i], `revisions newest first: ${revisions.join(', ')}`);
    }
    assert.equal((await a.getStoredState()).revision, entries[1].revision); // the global state's last switch
    assert.equal((await a.getStoredState(`${t}-s`)).revision, entries[0].revision);
  },
};

const historyAtOnce: Scenario = {
  title: 'history: two services switching at the same instant lose no entry and share no revision',
  needs: ['atomic'],
  async run(kit) {
    const a = await kit.service();
    const b = await kit.service();
    const t = kit.tag;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => [a.enable({ by: `${t}-a${i}` }), b.disable({ by: `${t}-b${i}` })]).flat(),
    );
    const entries = (await a.history(200)).filter((e) => e.by?.startsWith(t));
    assert.equal(entries.length, 40, `entries kept: ${entries.map((e) => e.by).join(', ')}`);
    const revisions = entries.map((e) => e.revision);
    assert.equal(new Set(revisions).size, 40, `revisions: ${revisions.join(', ')}`);
    const last = entries.reduce((x, y) => ((y.revision ?? 0) > (x.revision ?? 0) ? y : x));
    const stored = await b.getStoredState();
    assert.equal(stored.revision, last.revision, 'the state is the switch with the highest revision');
    assert.equal(stored.updatedBy, last.by);
  },
};

const scopesKept: Scenario = {
  title: 'scopes: kept beside the global state; scopes() lists the enabled ones by name; a switch off forgets one',
  async run(kit) {
    const a = await kit.service();
    const b = await kit.service();
    const [x, y] = [`${kit.tag}-x`, `${kit.tag}-y`];
    await a.disable({ by: kit.tag });
    await a.enable({ scope: y });
    await a.enable({ scope: x, message: 'x is down', by: kit.tag });
    const mine = async () => (await b.scopes()).filter((s) => s.scope.startsWith(kit.tag));
    const listed = await mine();
    assert.deepEqual(
      listed.map((s) => s.scope),
      [x, y],
    );
    assert.equal(listed[0].state.message, 'x is down');
    assert.equal((await b.getStoredState(x)).updatedBy, kit.tag);
    assert.equal(await b.isEnabled(x), true);
    assert.equal(await b.isEnabled(`${kit.tag}-z`), false);
    assert.equal(await b.isEnabled(), false); // the global state is its own
    await b.disable({ scope: x });
    assert.deepEqual(
      (await mine()).map((s) => s.scope),
      [y],
    );
    assert.equal((await a.getStoredState(x)).enabled, false);
    assert.equal(await a.isEnabled(x), false);
  },
};

const scopesAtOnce: Scenario = {
  title: 'scopes: two services switching different scopes at the same instant lose none',
  needs: ['atomic'],
  async run(kit) {
    const a = await kit.service();
    const b = await kit.service();
    const t = kit.tag;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => [
        a.enable({ scope: `${t}-a${i}` }),
        b.enable({ scope: `${t}-b${i}`, message: `b${i}` }),
      ]).flat(),
    );
    await a.disable({ scope: `${t}-a0` });
    const mine = (await (await kit.service()).scopes()).filter((s) => s.scope.startsWith(t));
    assert.equal(mine.length, 39, `scopes kept: ${mine.map((s) => s.scope).join(', ')}`);
    assert.equal(mine.find((s) => s.scope === `${t}-b7`)?.state.message, 'b7');
    assert.equal(
      mine.some((s) => s.scope === `${t}-a0`),
      false,
    );
  },
};

const leases: Scenario = {
  title: 'leases: a state on lease lapses for every service unless renewed; renewing writes no history entry',
  async run(kit) {
    const a = await kit.service();
    const b = await kit.service();
    await a.enable({ leaseMs: 3000, by: kit.tag });
    const first = Date.parse((await b.getStoredState()).leaseUntil as string);
    await sleep(1000);
    await a.renewLease();
    const renewed = Date.parse((await b.getStoredState()).leaseUntil as string);
    assert.ok(renewed >= first + 900, `leaseUntil after a renewal 1 s later: +${renewed - first} ms`);
    await until('the lease lapses', async () => !(await b.isEnabled()));
    const stored = await b.getStoredState();
    assert.equal(stored.enabled, true); // stored as it was, lapsed
    assert.equal((await b.history(20)).filter((e) => e.by === kit.tag).length, 1); // the switch on only
    await a.disable({ by: `${kit.tag}-end` });
  },
};

const tokens: Scenario = {
  title: 'tokens: one service makes a token, another checks it and lists it (never its hash), a revoke is seen by all',
  async run(kit) {
    const a = await kit.service();
    const b = await kit.service();
    const made = await a.createToken({ label: kit.tag, allow: ['on', 'off'], scope: `${kit.tag}-s`, by: 'contract' });
    assert.equal(made.info.label, kit.tag);
    const checked = await b.authenticateToken(made.token);
    assert.deepEqual(checked, made.info);
    const listed = (await b.tokens()).filter((i) => i.label === kit.tag);
    assert.deepEqual(listed, [made.info]);
    assert.equal(JSON.stringify(await b.tokens()).includes(made.token), false);
    assert.equal('hash' in listed[0], false);
    assert.equal(await b.authenticateToken(`${made.token}x`), undefined);
    await b.revokeToken(made.info.id);
    assert.equal(await a.authenticateToken(made.token), undefined);
    await assert.rejects(b.revokeToken(made.info.id), (e) => codeOf(e) === 'ERR_MAINTENANCE_UNKNOWN_TOKEN');
    const t0 = Date.now(); // the token expires 3 s after it is made, at t0 + 3 s at the earliest
    const brief = await a.createToken({ label: `${kit.tag}-brief`, allow: ['read'], ttlMs: 3000 });
    const known = await b.authenticateToken(brief.token);
    if (Date.now() - t0 < 2500) assert.equal(known?.id, brief.info.id); // (on a machine slower than that: unknown)
    await until('an expired token is refused', async () => (await b.authenticateToken(brief.token)) === undefined);
  },
};

/** Scenarios of what every store keeps, needing no capability but `atomic` for writes at the same instant. */
export const BEHAVIOUR: readonly Scenario[] = [
  roundTrip,
  historyInOrder,
  historyAtOnce,
  scopesKept,
  scopesAtOnce,
  leases,
  tokens,
];
