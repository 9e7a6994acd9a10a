import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { type HoldOptions, MaintenanceError, type MaintenanceService, maintenance } from '../src/index.js';
import { resolveOptions } from '../src/koa/options.js';
import { memoryService } from './helpers/app.js';
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

/** A hold far longer than any test here: a request answered 503 in these tests timed out only where a test wants it. */
const LONG_HOLD_MS = 60_000;

/** What the app saw of one released request: its number, when, and in which turn of the event loop. */
interface Seen {
  readonly n: number;
  readonly at: number;
  readonly turn: number;
}

/** An answer as the client got it; status 0: the client left before it. */
interface Answer {
  readonly n: number;
  readonly status: number;
  readonly rule?: string;
}

/**
 * A real server on a loopback port whose app records, for every request that reaches it, its number (`x-n`), when and
 * in which turn of the event loop (a counter bumped by `setImmediate` while the app lives). `held` lists the requests
 * in the order they were about to be held: `getClientIpAddress` is asked for a blocked request's client just before
 * it is held.
 */
async function spreadApp(service: MaintenanceService, hold: HoldOptions) {
  const app = new Koa();
  app.silent = true;
  const seen: Seen[] = [];
  const held: number[] = [];
  let turn = 0;
  let live = true;
  const bump = () => {
    turn++;
    if (live) setImmediate(bump);
  };
  bump();
  const clientOf = (ctx: Koa.Context) => {
    held.push(Number(ctx.get('x-n')));
    return '192.0.2.1';
  };
  app.use(maintenance({ service, hold, getClientIpAddress: clientOf }));
  app.use((ctx) => {
    seen.push({ n: Number(ctx.get('x-n')), at: performance.now(), turn });
    ctx.body = { rule: ctx.state.maintenanceDecision?.rule };
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;

  /** Sends request `n` on its own connection; `leave()` closes it as a visitor closing the tab. */
  const send = (n: number) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', headers: { 'x-n': String(n), connection: 'close' } });
    const answer = new Promise<Answer>((resolve) => {
      req.once('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.once('end', () => resolve({ n, status: res.statusCode ?? 0, rule: parse(body).rule }));
      });
      req.once('error', () => resolve({ n, status: 0 }));
    });
    req.end();
    return { answer, leave: () => req.destroy() };
  };

  /** Sends `count` requests one after another, each held before the next is sent: their arrival order is 0, 1, … */
  const holdInOrder = async (count: number) => {
    const sent: Array<ReturnType<typeof send>> = [];
    for (let n = 0; n < count; n++) {
      sent.push(send(n));
      await until(() => held.length === n + 1, PATIENCE_MS);
    }
    return sent;
  };

  const close = async () => {
    live = false;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await service.close();
  };
  return { seen, held, send, holdInOrder, close };
}

function parse(body: string): { rule?: string } {
  try {
    return JSON.parse(body);
  } catch {
    return {};
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('hold: released requests spread over releaseSpreadMs', function () {
  this.timeout(LONG_HOLD_MS / 2);

  it('lets 20 held requests back into the app in arrival order, spread over the span, not in one tick', async () => {
    const service = memoryService();
    const t = await spreadApp(service, { maxMs: LONG_HOLD_MS, releaseSpreadMs: 400 });
    try {
      await service.enable();
      const sent = await t.holdInOrder(20);
      expect(t.seen).to.have.length(0); // all held
      await service.disable();
      const answers = await Promise.all(sent.map((s) => s.answer));
      expect(answers.map((a) => [a.status, a.rule])).to.deep.equal(range(20).map(() => [200, 'released']));
      expect(
        t.seen.map((s) => s.n),
        'the order the app saw them in',
      ).to.deep.equal(range(20));
      // Turns 400 / 20 = 20 ms apart: the first and the last 380 ms apart (half the span is the margin).
      const spanSeen = t.seen[19].at - t.seen[0].at;
      expect(spanSeen, 'from the first release to the last').to.be.at.least(200);
      expect(new Set(t.seen.map((s) => s.turn)).size, 'turns of the event loop they came in').to.be.at.least(10);
    } finally {
      await t.close();
    }
  });

  it('slows the release down after the event loop stalls instead of letting the missed turns through in one burst', async () => {
    const service = memoryService();
    const t = await spreadApp(service, { maxMs: LONG_HOLD_MS, releaseSpreadMs: 400 }); // a turn every 20 ms
    try {
      await service.enable();
      const sent = await t.holdInOrder(20);
      await service.disable();
      await until(() => t.seen.length >= 1, PATIENCE_MS);
      const stalled = performance.now(); // a busy app: the event loop blocked for 300 ms (15 turns missed)
      while (performance.now() - stalled < 300);
      const answers = await Promise.all(sent.map((s) => s.answer));
      expect(answers.every((a) => a.status === 200)).to.equal(true);
      expect(t.seen.map((s) => s.n)).to.deep.equal(range(20));
      const perTurn = new Map<number, number>();
      for (const s of t.seen) perTurn.set(s.turn, (perTurn.get(s.turn) ?? 0) + 1);
      expect(Math.max(...perTurn.values()), 'let through in one turn of the event loop').to.be.at.most(3);
    } finally {
      await t.close();
    }
  });

  it('lets them all back at once with releaseSpreadMs 0, in arrival order, in one turn of the event loop', async () => {
    const service = memoryService();
    const t = await spreadApp(service, { maxMs: LONG_HOLD_MS, releaseSpreadMs: 0 });
    try {
      await service.enable();
      const sent = await t.holdInOrder(20);
      await service.disable();
      const answers = await Promise.all(sent.map((s) => s.answer));
      expect(answers.every((a) => a.status === 200 && a.rule === 'released')).to.equal(true);
      expect(t.seen.map((s) => s.n)).to.deep.equal(range(20));
      expect(new Set(t.seen.map((s) => s.turn)).size, 'turns of the event loop they came in').to.equal(1);
    } finally {
      await t.close();
    }
  });

  it('keeps the requests not yet let through held when maintenance comes back on during the release', async () => {
    const service = memoryService();
    const t = await spreadApp(service, { maxMs: LONG_HOLD_MS, releaseSpreadMs: 2000 }); // a turn every 100 ms
    try {
      await service.enable();
      const sent = await t.holdInOrder(20);
      await service.disable();
      await until(() => t.seen.length >= 3, PATIENCE_MS);
      await service.enable();
      await sleep(300); // the change is pushed at once; three polls at the most
      const before = t.seen.length;
      expect(before, 'let through before maintenance came back').to.be.below(20);
      await sleep(2500); // past the whole span: nothing more gets through while maintenance is on
      expect(t.seen.length, 'let through while maintenance was on again').to.equal(before);
      await service.disable();
      const answers = await Promise.all(sent.map((s) => s.answer));
      expect(answers.map((a) => [a.status, a.rule])).to.deep.equal(range(20).map(() => [200, 'released']));
      expect(
        t.seen.map((s) => s.n),
        'still in arrival order',
      ).to.deep.equal(range(20));
    } finally {
      await t.close();
    }
  });

  it('answers the requests not yet let through with maintenance when the service closes during the release', async () => {
    const service = memoryService();
    const t = await spreadApp(service, { maxMs: LONG_HOLD_MS, releaseSpreadMs: 2000 });
    try {
      await service.enable();
      const sent = await t.holdInOrder(20);
      await service.disable();
      await until(() => t.seen.length >= 3, PATIENCE_MS);
      await service.close(); // shutting down: what is still held goes to another instance
      const statuses = (await Promise.all(sent.map((s) => s.answer))).map((a) => a.status);
      const letThrough = t.seen.length;
      expect(letThrough, 'let through before close()').to.be.below(20);
      expect(statuses).to.deep.equal(range(20).map((n) => (n < letThrough ? 200 : 503)));
    } finally {
      await t.close();
    }
  });

  it('never lets into the app a request whose client left while it waited for its turn', async () => {
    const service = memoryService();
    const t = await spreadApp(service, { maxMs: LONG_HOLD_MS, releaseSpreadMs: 2000 }); // request 10 goes at ~1 s
    try {
      await service.enable();
      const sent = await t.holdInOrder(20);
      await service.disable();
      sent[10].leave();
      const answers = await Promise.all(sent.map((s) => s.answer));
      expect(answers.map((a) => a.status)).to.deep.equal(range(20).map((n) => (n === 10 ? 0 : 200)));
      expect(t.seen.map((s) => s.n)).to.deep.equal(range(20).filter((n) => n !== 10));
    } finally {
      await t.close();
    }
  });

  it('answers with maintenance, as a hold that times out, a request whose maxMs runs out before its turn', async () => {
    // Released 1.65 s after the first arrived, 300 ms apart: the first ones' turns come well within their 3 s, the
    // last ones' (up to 1.65 + 2.7 s) well after it.
    const service = memoryService();
    const t = await spreadApp(service, { maxMs: 3000, releaseSpreadMs: 3000 });
    try {
      await service.enable();
      const first = performance.now();
      const sent = await t.holdInOrder(10);
      await sleep(Math.max(0, first + 1650 - performance.now()));
      await service.disable();
      const answers = await Promise.all(sent.map((s) => s.answer));
      const statuses = answers.map((a) => a.status);
      const released = statuses.indexOf(503);
      expect(released, `some released, then the rest timed out: ${statuses}`).to.be.above(0);
      expect(statuses).to.deep.equal(range(10).map((n) => (n < released ? 200 : 503)));
      expect(
        t.seen.map((s) => s.n),
        'the app saw only the released ones',
      ).to.deep.equal(range(released));
    } finally {
      await t.close();
    }
  });
});

describe('hold.releaseSpreadMs: the option', () => {
  it('defaults to 1000 ms, or to maxMs when that is shorter', () => {
    expect(resolveOptions({ hold: { maxMs: 5000 } }).hold?.releaseSpreadMs).to.equal(1000);
    expect(resolveOptions({ hold: { maxMs: 300 } }).hold?.releaseSpreadMs).to.equal(300);
    expect(resolveOptions({ hold: { maxMs: 300, releaseSpreadMs: undefined } }).hold?.releaseSpreadMs).to.equal(300);
    expect(resolveOptions({ hold: { maxMs: 5000, releaseSpreadMs: 0 } }).hold?.releaseSpreadMs).to.equal(0);
    expect(resolveOptions({ hold: { maxMs: 5000, releaseSpreadMs: 5000 } }).hold?.releaseSpreadMs).to.equal(5000);
  });

  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1000', 5001]) {
    it(`rejects ${String(typeof bad === 'string' ? `'${bad}'` : bad)} when maintenance() is called, naming the option and its range`, () => {
      const call = () => maintenance({ hold: { maxMs: 5000, releaseSpreadMs: bad as number } });
      expect(call).to.throw(
        MaintenanceError,
        /^hold\.releaseSpreadMs must be a whole number of milliseconds from 0 \(all at once\) to hold\.maxMs \(5000\); received /,
      );
      try {
        call();
      } catch (err) {
        expect((err as MaintenanceError).code).to.equal('ERR_MAINTENANCE_INVALID_OPTION');
      }
    });
  }

  it('suggests releaseSpreadMs for a misspelt key', () => {
    expect(() => maintenance({ hold: { maxMs: 5000, releaseSpreadMS: 10 } as never })).to.throw(
      MaintenanceError,
      /releaseSpreadMs/,
    );
  });
});
