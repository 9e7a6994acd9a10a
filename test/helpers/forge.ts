import { createHash, createHmac } from 'node:crypto';
import { expect } from 'chai';
import type supertest from 'supertest';

/** Every token-like string in `dump`: what someone who can read the store or the change feed holds. */
export function tokensIn(dump: string): string[] {
  return [...new Set(dump.match(/[A-Za-z0-9_+/=-]{16,}/g) ?? [])];
}

/**
 * Cookie values someone could build from `tokens`, over expiries inside every bound (a minute ahead): each token as
 * the tag itself, as the key of an HMAC over the expiry (the 0.1 scheme, which used the stored hash as its key, and the
 * option scheme, with the token as text and as hex bytes), and hashed.
 */
export function forgedCookies(tokens: readonly string[], nowSeconds = Math.floor(Date.now() / 1000)): string[] {
  const exp = nowSeconds + 60;
  const out: string[] = [];
  for (const token of tokens) {
    const keys: Array<string | Buffer> = [token];
    if (/^[0-9a-f]{64}$/.test(token)) keys.push(Buffer.from(token, 'hex'));
    out.push(`${exp}.${token}`, `${exp}.${createHash('sha256').update(token).digest('base64url')}`);
    for (const key of keys) {
      out.push(`${exp}.${createHmac('sha256', key).update(`koa-maintenance-mode:bypass:${exp}`).digest('base64url')}`);
      out.push(`${exp}.${createHmac('sha256', key).update(`bypass:${exp}`).digest('base64url')}`);
    }
  }
  return out;
}

/**
 * Asserts that nothing in `dump` lets a request through: no forged cookie, no token as the bypass header, no token as a
 * bypass path (which would set a cookie). `request` is the app under maintenance.
 */
export async function expectNoForgery(request: () => supertest.Agent, dump: string): Promise<number> {
  const tokens = tokensIn(dump);
  expect(tokens.length, 'the dump holds no token at all: nothing was tested').to.be.greaterThan(0);
  let tried = 0;
  for (const cookie of forgedCookies(tokens)) {
    await request().get('/').set('Cookie', `maintenance_bypass=${cookie}`).expect(503);
    tried++;
  }
  for (const token of tokens) {
    await request().get('/').set('x-maintenance-bypass', token).expect(503);
    const visit = await request().get(`/${encodeURIComponent(token)}`);
    expect(visit.headers['set-cookie'], `/${token} granted a cookie`).to.equal(undefined);
    tried += 2;
  }
  return tried;
}

/** The control: the real secret still opens the door (so the refusals above are not an app that refuses everything). */
export async function expectSecretWorks(request: () => supertest.Agent, secret: string): Promise<void> {
  const visit = await request().get(`/${secret}`).expect(302);
  await request()
    .get('/')
    .set('Cookie', (visit.headers['set-cookie'] as unknown as string[])[0])
    .expect(200);
}
