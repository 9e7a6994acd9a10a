// The README's jobs and queues: a BullMQ worker that pauses during maintenance, a croner task that skips, a script
// that waits. Run by test/readme.test.ts against a redis-server it starts on a free port.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import 'reflect-metadata';
import { MaintenanceService } from 'koa-maintenance-mode';
import { Container } from 'typedi';

const port = await new Promise<number>((done) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: p } = probe.address() as { port: number };
    probe.close(() => done(p));
  });
});
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
const missing = await new Promise<boolean>((done) => {
  redis.once('error', () => done(true));
  redis.stdout.on('data', (d) => String(d).includes('Ready to accept') && done(false));
});
if (missing && process.env.CI !== 'true') {
  console.log('skipped: redis-server is not installed (Debian package redis-server)');
  process.exit(0);
}
assert.equal(missing, false, 'redis-server is needed: apt-get install redis-server');
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const service = Container.get(MaintenanceService);
const sent: string[] = [];
const sendMail = async (to: string) => {
  sent.push(to);
};
const sendDigest = async () => sent.push('digest');

// #region readme
import { Queue, Worker } from 'bullmq';
import { Cron } from 'croner';
import { pauseWorkerDuringMaintenance } from 'koa-maintenance-mode';

// A worker that finishes its active jobs when maintenance starts, takes none while it is on, and resumes after;
// its running jobs count as in flight, so `maintenance-mode run` waits for them before it migrates.
const worker = new Worker('mail', async (job) => sendMail(job.data.to), { connection });
const stop = pauseWorkerDuringMaintenance(worker);   // { service, scope } optional

// A scheduled task that skips its runs while maintenance is on (unless runDuringMaintenance: true).
const digest = new Cron('0 7 * * *', async () => {
  await service.guard(sendDigest);
});

// A script that must not run during maintenance waits for its end.
await service.waitUntilOff({ timeoutMs: 10 * 60_000 });
// #endregion

const mail = new Queue('mail', { connection });
await service.enable({ message: 'Migrating' });
await new Promise((r) => setTimeout(r, 500));
await mail.add('welcome', { to: 'ada@example.com' });
digest.trigger();
await new Promise((r) => setTimeout(r, 1000));
assert.deepEqual(sent, [], 'nothing runs during maintenance');
await service.disable();
for (let i = 0; i < 50 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
assert.deepEqual(sent, ['ada@example.com']);
digest.trigger();
for (let i = 0; i < 20 && sent.length === 1; i++) await new Promise((r) => setTimeout(r, 50));
assert.deepEqual(sent, ['ada@example.com', 'digest']);
stop();
digest.stop();
await worker.close();
await mail.close();
await service.close();
redis.kill();
