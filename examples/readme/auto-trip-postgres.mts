// The README's PostgreSQL health check for autoTrip(). Run by test/readme.test.ts in an empty directory (the default
// file store) with DATABASE_URL on a port where nothing listens: the check fails, and a quick copy of the trip trips.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import 'reflect-metadata';

process.env.DATABASE_URL ??= 'postgres://app@127.0.0.1:1/app';
const log = { warn: (_: string) => undefined };

// #region readme
import pg from 'pg';
import { MaintenanceService } from 'koa-maintenance-mode';

const service = new MaintenanceService();   // the state lives apart from the database it watches (a file, Redis)
// A pool of its own, so a check never queues behind the app's queries; each attempt bounded.
const health = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: 1,
  connectionTimeoutMillis: 1000,
  query_timeout: 1000,
});
health.on('error', () => {});   // a pooled connection whose server went away: the next check says so
const databaseAnswers = async () => (await health.query('SELECT 1')).rowCount === 1;

const stop = service.autoTrip({
  name: 'db',
  check: databaseAnswers,   // every 5 s; 3 failures in a row → read-only; 3 successes → back
  message: 'The database is failing over: you can browse, but not save. Back in a few minutes.',
});
service.on('auto-trip', ({ name, error, switched }) =>
  log.warn(`check ${name} failing (${error}): ${switched ? 'read-only now' : 'someone else’s state in force'}`),
);
// #endregion

assert.equal(await databaseAnswers().catch(() => false), false); // nothing listens there
stop();
// The same check on a short interval: it trips, read-only, by auto:db-now, with a lease.
const alive = setInterval(() => undefined, 1000); // an app's server keeps it running; the trip's timer does not
const tripped = once(service, 'auto-trip');
const quick = service.autoTrip({ name: 'db-now', check: databaseAnswers, intervalMs: 200, timeoutMs: 200, failAfter: 2 });
await tripped;
const state = await service.getStoredState();
assert.equal(state.updatedBy, 'auto:db-now');
assert.equal(state.readOnly, true);
assert.equal(typeof state.leaseUntil, 'string');
quick();
clearInterval(alive);
await service.disable();
await health.end();
await service.close();
