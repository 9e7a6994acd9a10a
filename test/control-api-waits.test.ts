import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import { MaintenanceService, maintenanceApi } from '../src/index.js';
import { API_DEFAULTS } from '../src/koa/api/options.js';
import { captureLogger } from './helpers/app.js';
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

const API = '/maintenance-mode/api';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** One POST /wait over its own connection, as a pipeline's curl makes it; `close()` hangs up before the answer. */
interface OpenWait {
  readonly answer: Promise<Answer>;
  close(): void;
}

describe('control API: concurrent waits are bounded per token and per instance', function () {
  this.timeout(3 * PATIENCE_MS);
  let dir: string;
  let statePath: string;
  let service: MaintenanceService;
  let server: Server | undefined;
  const open: OpenWait[] = [];

  /** An instance of the fleet that never applies the switch: every wait stays open until it ends otherwise. */
  const instanceBehind = (applied: number) =>
    writeFileSync(
      `${statePath}.d/presence.behind.json`, // in the side directory, made by the switch in beforeEach
      JSON.stringify({
        id: 'behind',
        host: 'web-1',
        pid: 4242,
        version: '0.1.0',
        startedAt: new Date().toISOString(),
        lastSeen: new Date().toISOString(),
        applied,
        inFlight: 0,
        held: 0,
        intervalMs: 600_000,
      }),
    );

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-api-waits-'));
    statePath = join(dir, 'state.json');
    service = new MaintenanceService({ stateFilePath: statePath, logger: captureLogger() });
    await service.enable({ by: 'test' });
    instanceBehind(0);
  });
  afterEach(async () => {
    for (const w of open.splice(0)) w.close();
    server?.closeAllConnections();
    await new Promise((done) => (server ? server.close(done) : done(undefined)));
    server = undefined;
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Serves `maintenanceApi(options)` on a free loopback port. */
  async function serve(options: Parameters<typeof maintenanceApi>[0] = {}) {
    const app = new Koa();
    app.silent = true;
    app.use(maintenanceApi({ service, ...options }).routes());
    server = app.listen(0, '127.0.0.1');
    await new Promise((done) => server?.once('listening', done));
    return (server.address() as AddressInfo).port;
  }

  const token = async (label: string) => (await service.createToken({ label, allow: ['read'] })).token;

  function wait(port: number, bearer: string, timeoutMs: number): OpenWait {
    const payload = JSON.stringify({ timeoutMs });
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `${API}/wait`,
      agent: false,
      headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
    });
    const answer = new Promise<Answer>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }));
      });
      req.on('error', reject);
    });
    answer.catch(() => undefined); // a wait closed on purpose
    req.end(payload);
    const w = { answer, close: () => req.destroy() };
    open.push(w);
    return w;
  }

  /** Opens `n` waits of `bearer` that stay open (60 s). */
  const hold = (port: number, bearer: string, n: number) => Array.from({ length: n }, () => wait(port, bearer, 60_000));

  /** The first answer among `waits` within PATIENCE_MS, far less than their 60 s (the others stay open). */
  async function firstAnswer(waits: OpenWait[]): Promise<Answer> {
    let timer: NodeJS.Timeout | undefined;
    const none = new Promise<undefined>((done) => {
      timer = setTimeout(done, PATIENCE_MS, undefined);
    });
    const first = await Promise.race([...waits.map((w) => w.answer), none]).finally(() => clearTimeout(timer));
    expect(first, `no answer within ${PATIENCE_MS} ms: every wait was let in`).to.not.equal(undefined);
    return first as Answer;
  }

  function expectTooMany(a: Answer, detail: RegExp) {
    expect(a.status, JSON.stringify(a.body)).to.equal(429);
    expect(a.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(a.body).to.include({ status: 429, type: 'urn:koa-maintenance-mode:problem:too_many_waits' });
    expect(a.body.detail).to.match(detail);
    const retryAfter = Number(a.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`).to.equal(
      true,
    );
  }

  /** Whether a short wait of `bearer` is let in now (it then times out: 504), rather than refused (429). */
  const letIn = async (port: number, bearer: string) => (await wait(port, bearer, 200).answer).status === 504;

  it('answers the 5th concurrent wait of a token 429 with Retry-After (maxWaitsPerToken: 4); another token is served', async () => {
    const port = await serve();
    const [a, b] = [await token('deploy-a'), await token('deploy-b')];
    const waits = hold(port, a, 5);
    expectTooMany(await firstAnswer(waits), /already waits 4 times \(maxWaitsPerToken: 4\)/);
    const other = await wait(port, b, 300).answer;
    expect(other.status, JSON.stringify(other.body)).to.equal(504); // let in: it waited, and the fleet did not settle
    expect(other.body.fleet).to.be.an('object');
  });

  it('frees the slots of clients that hang up, well before their waits would time out', async () => {
    const port = await serve();
    const a = await token('deploy-a');
    const waits = hold(port, a, 5);
    expectTooMany(await firstAnswer(waits), /maxWaitsPerToken/);
    for (const w of waits) w.close();
    await until(() => letIn(port, a), PATIENCE_MS); // long before their 60 s
    const again = hold(port, a, 5); // exactly 4 free slots again: not fewer, not more
    expectTooMany(await firstAnswer(again), /maxWaitsPerToken/);
  });

  it('frees the slots of waits that end: by their timeout (504) and when the fleet settles (200)', async () => {
    const port = await serve();
    const a = await token('deploy-a');
    const short = Array.from({ length: 4 }, () => wait(port, a, 300));
    expect((await Promise.all(short.map((w) => w.answer))).map((r) => r.status)).to.deep.equal([504, 504, 504, 504]);
    const long = hold(port, a, 4);
    await sleep(1500); // let them in before the fleet settles (generous: a busy 2-core machine)
    instanceBehind((await service.fleet()).revision);
    expect((await Promise.all(long.map((w) => w.answer))).map((r) => r.status)).to.deep.equal([200, 200, 200, 200]);
    await service.enable({ by: 'test', message: 'again' }); // a new revision the instance has not applied
    const next = hold(port, a, 5);
    expectTooMany(await firstAnswer(next), /maxWaitsPerToken/);
  });

  it('bounds the waits of the whole instance across tokens (maxWaits)', async () => {
    const port = await serve({ maxWaits: 3, maxWaitsPerToken: 2 } as never);
    const [a, b, c] = [await token('a'), await token('b'), await token('c')];
    const held = [...hold(port, a, 2), ...hold(port, b, 1)];
    await sleep(1500); // let them in first (generous: a busy 2-core machine)
    const refused = await wait(port, c, 60_000).answer;
    expectTooMany(refused, /already holds 3 waits \(maxWaits: 3\)/);
    const answered = await Promise.race([...held.map((w) => w.answer.then(() => true)), sleep(300).then(() => false)]);
    expect(answered, 'a wait let in was answered').to.equal(false);
  });

  it('service.waitForFleet({ signal }) ends with ERR_MAINTENANCE_WAIT_ABORTED when the signal aborts', async () => {
    const hangUp = new AbortController();
    const waiting = service.waitForFleet({ timeoutMs: 60_000, signal: hangUp.signal }).catch((e) => e);
    await sleep(300);
    hangUp.abort();
    const err = await Promise.race([waiting, sleep(5000).then(() => 'still waiting')]);
    expect(err).to.have.property('code', 'ERR_MAINTENANCE_WAIT_ABORTED');
    const already = await service.waitForFleet({ signal: AbortSignal.abort() }).catch((e) => e);
    expect(already).to.have.property('code', 'ERR_MAINTENANCE_WAIT_ABORTED');
  });

  it('validates maxWaitsPerToken and maxWaits, naming the option and its bounds', () => {
    expect(API_DEFAULTS).to.include({ maxWaitsPerToken: 4, maxWaits: 64 });
    const cases: Array<[object, RegExp]> = [
      [{ maxWaitsPerToken: 0 }, /maxWaitsPerToken must be a whole number from 1 to 1000; received 0/],
      [{ maxWaitsPerToken: 2.5 }, /maxWaitsPerToken must be a whole number/],
      [{ maxWaits: 'many' }, /maxWaits must be a whole number from 1 to 10000; received "many"/],
      [{ maxWaits: 2 }, /maxWaitsPerToken must not exceed maxWaits \(2\); received 4/],
    ];
    for (const [options, message] of cases) {
      expect(() => maintenanceApi({ service, ...options } as never))
        .to.throw(message)
        .with.property('code', 'ERR_MAINTENANCE_INVALID_OPTION');
    }
  });

  it('documents the 429 of POST /wait in its OpenAPI document', async () => {
    const port = await serve();
    const doc = (await (await fetch(`http://127.0.0.1:${port}${API}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(doc.paths[`${API}/wait`].post.responses).to.have.property('429');
    expect(doc.paths[`${API}/fleet`].get.responses).to.not.have.property('429');
  });
});
