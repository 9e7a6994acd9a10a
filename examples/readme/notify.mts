// The README's notifications: a Slack webhook and a signed JSON one, with a receiver that checks the signature. Run by
// test/readme.test.ts, with local servers standing in for Slack and for your endpoint.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import 'reflect-metadata';
import Keyv from 'keyv';

const posts: Array<{ path: string; body: string; signature: string | undefined }> = [];
const stand = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    const signature = req.headers['x-maintenance-signature'];
    posts.push({ path: req.url ?? '', body, signature: typeof signature === 'string' ? signature : undefined });
    res.end();
  });
}).listen(0, '127.0.0.1');
await new Promise((r) => stand.once('listening', r));
const local = `http://127.0.0.1:${(stand.address() as { port: number }).port}`;
process.env.SLACK_WEBHOOK_URL = `${local}/services/T000/B000/XXXX`;
process.env.OPS_WEBHOOK_URL = `${local}/maintenance-events`;
process.env.OPS_WEBHOOK_SECRET = 'a-long-random-secret-from-your-vault';
const store = new Keyv();

// #region readme
import { MaintenanceService } from 'koa-maintenance-mode';

const service = new MaintenanceService({
  store, // your shared store: each event is posted once per fleet, not once per instance
  notify: [
    { url: process.env.SLACK_WEBHOOK_URL as string, format: 'slack', remindBeforeMinutes: [60, 10] },
    {
      url: process.env.OPS_WEBHOOK_URL as string,
      secret: process.env.OPS_WEBHOOK_SECRET as string,  // 16+ characters; signs: X-Maintenance-Signature: t=…,sha256=…
      events: ['enabled', 'disabled'],
    },
  ],
});
// #endregion
// #region verify
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Your endpoint's check: the HMAC of "<t>.<raw body>", and a recent t (no replays). */
function verified(header: string, rawBody: string, secret: string): boolean {
  const m = /^t=(\d+),sha256=([0-9a-f]{64})$/.exec(header);
  if (!m || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2], 'hex'));
}
// #endregion

await service.enable({ message: 'Upgrading the database', end: new Date(Date.now() + 3_600_000).toISOString() });
await service.close(); // posts what is on its way first
assert.equal(posts.length, 2);
const slack = posts.find((p) => p.path.startsWith('/services/')) as (typeof posts)[number];
assert.match(JSON.parse(slack.body).text, /^Maintenance has started\. Upgrading the database Until .+ GMT\.$/);
const ops = posts.find((p) => p.path === '/maintenance-events') as (typeof posts)[number];
assert.equal(JSON.parse(ops.body).event, 'enabled');
assert.ok(verified(ops.signature as string, ops.body, process.env.OPS_WEBHOOK_SECRET as string));
assert.ok(!verified(ops.signature as string, `${ops.body} `, process.env.OPS_WEBHOOK_SECRET as string));
stand.close();
