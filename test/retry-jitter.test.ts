import { expect } from 'chai';
import { MaintenanceError, type MaintenanceOptions, maintenance } from '../src/index.js';
import { createTestApp } from './helpers/app.js';

/** The Retry-After headers of `n` blocked requests to an app of `options` (maintenance on, `end` when given). */
async function retryAfters(options: MaintenanceOptions, n: number, end?: Date): Promise<string[]> {
  const t = createTestApp(options);
  await t.service.enable(end ? { end } : {});
  const values: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await t.request().get('/').expect(503);
    values.push(res.headers['retry-after']);
  }
  await t.service.close();
  return values;
}

describe('retryAfterJitterSeconds: blocked answers do not all say the same second (#34)', () => {
  it('adds 0…N random seconds to Retry-After, a different value from answer to answer', async () => {
    const values = await retryAfters({ retryAfter: 600, retryAfterJitterSeconds: 30 }, 100);
    for (const v of values) {
      expect(v).to.match(/^\d+$/);
      expect(Number(v)).to.be.within(600, 630);
    }
    expect(new Set(values).size).to.be.above(1);
  });

  it('moves the HTTP date of a scheduled end by whole seconds within 0…N', async () => {
    const end = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3_600_000);
    const values = await retryAfters({ retryAfterJitterSeconds: 20 }, 60, end);
    for (const v of values) {
      const at = Date.parse(v);
      expect(at - end.getTime()).to.be.within(0, 20_000);
      expect(at % 1000).to.equal(0);
    }
    expect(new Set(values).size).to.be.above(1);
  });

  it('with 0 (the default) sends the value as it is, every time', async () => {
    expect(new Set(await retryAfters({ retryAfter: 600 }, 30))).to.deep.equal(new Set(['600']));
    const end = new Date(Date.now() + 3_600_000);
    expect(new Set(await retryAfters({ retryAfterJitterSeconds: 0 }, 10, end))).to.deep.equal(
      new Set([end.toUTCString()]),
    );
  });

  it('leaves the body as it was (the value without jitter) and the getContext answer jittered too', async () => {
    const t = createTestApp({
      responseType: 'json',
      retryAfter: 600,
      retryAfterJitterSeconds: 30,
      getContext: () => ({ team: 'ops' }),
    });
    await t.service.enable();
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const res = await t.request().get('/').expect(503);
      expect(res.body).to.deep.equal({ maintenance: true, retryAfter: 600, team: 'ops' });
      expect(Number(res.headers['retry-after'])).to.be.within(600, 630);
      seen.add(res.headers['retry-after']);
    }
    expect(seen.size).to.be.above(1);
  });

  it('sends no Retry-After when none is configured, jitter or not', async () => {
    expect(await retryAfters({ retryAfter: null, retryAfterJitterSeconds: 30 }, 3)).to.deep.equal([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('checks the option when maintenance() is called, naming it', () => {
    for (const value of [-1, 1.5, '5', 86_401]) {
      let err: unknown;
      try {
        maintenance({ retryAfterJitterSeconds: value as number });
      } catch (e) {
        err = e;
      }
      expect(err, String(value)).to.be.instanceOf(MaintenanceError);
      expect((err as Error).message).to.match(/^retryAfterJitterSeconds must be a whole number of seconds from 0/);
    }
  });
});
