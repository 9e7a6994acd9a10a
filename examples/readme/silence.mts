// The README's Alertmanager silences. Run by test/readme.test.ts, with a local server standing in for Alertmanager's
// API v2 (test/silence.test.ts runs the real one).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import 'reflect-metadata';
import Keyv from 'keyv';

type Silence = { id: string; status: { state: string }; endsAt: string; startsAt: string; createdBy: string };
const silences = new Map<string, Silence & Record<string, unknown>>();
const stand = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json');
    if (req.method === 'GET' && req.url === '/api/v2/silences') return res.end(JSON.stringify([...silences.values()]));
    if (req.method === 'POST' && req.url === '/api/v2/silences') {
      const posted = JSON.parse(body);
      const id = posted.id ?? randomUUID();
      silences.set(id, { ...posted, id, status: { state: 'active' } });
      return res.end(JSON.stringify({ silenceID: id }));
    }
    const gone = silences.get(decodeURIComponent((req.url ?? '').replace('/api/v2/silence/', '')));
    if (req.method === 'DELETE' && gone) gone.status = { state: 'expired' };
    res.end();
  });
}).listen(0, '127.0.0.1');
await new Promise((r) => stand.once('listening', r));
process.env.ALERTMANAGER_URL = `http://127.0.0.1:${(stand.address() as { port: number }).port}`;
const store = new Keyv();
const eventually = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check());
};

// #region readme
import { MaintenanceService } from 'koa-maintenance-mode';

const service = new MaintenanceService({
  store, // your shared store: one instance of the fleet makes each silence, and any of them expires it
  silence: [
    {
      alertmanagerUrl: process.env.ALERTMANAGER_URL as string, // e.g. http://alertmanager:9093
      matchers: [
        { name: 'service', value: 'shop' },
        { name: 'env', value: 'prod|staging', isRegex: true },
        { name: 'severity', value: 'critical', isEqual: false }, // negative matchers only narrow a silence
      ],
      comment: 'Planned maintenance of the shop',
    },
    {
      alertmanagerUrl: process.env.ALERTMANAGER_URL as string,
      matchers: [{ name: 'service', value: 'billing' }],
      scope: 'billing', // while billing (or the whole site) is in maintenance
    },
  ],
});
// maintenance() does this on its first request (startSilences() with presence: false): instances that serve
// look after silences
service.joinFleet();
// #endregion

const end = new Date(Date.now() + 3_600_000).toISOString();
await service.enable({ message: 'Upgrading the database', end, by: 'ops' });
const live = () => [...silences.values()].filter((s) => s.status.state === 'active');
await eventually(() => live().length === 2);
assert.deepEqual(
  live().map((s) => s.endsAt),
  [end, end],
);
await service.disable({ by: 'ops' });
await eventually(() => live().length === 0);
const named = (await service.history(5)).filter((e) => e.source === 'silence').map((e) => e.silenceId);
assert.equal(named.length, 4); // two made, two expired, each naming its silence
await service.close();
stand.close();
