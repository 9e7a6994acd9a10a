import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createPostgresStore, createRedisStore, MaintenanceService } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { killCliProcesses } from './helpers/cli.js';
import { type CliExit, cliEnv, cliToExit, LINGER_MS } from './helpers/exits.js';
import { postgresBin, startPostgres } from './helpers/postgres.js';
import { startRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { until } from './helpers/wait.js';

/** A store the CLI processes run on: their environment, a service of this process on it, and a way to break it. */
interface ExitStore {
  readonly env: Record<string, string>;
  service(): MaintenanceService;
  /** Makes the store unreachable for the CLI (`restore` undoes it). */
  down(): Promise<Record<string, string>>;
  restore(): Promise<void>;
  dispose(): Promise<void>;
}

const ON_WAIT_RUNS = 15;
const RUN_RUNS = 8;

/** What every run must show: it exited by itself with `code` (the message names the command and its output). */
function exitedBySelf(r: CliExit, code: number, what: string): void {
  expect(r.lingered, `${what} was still running ${LINGER_MS / 1000} s after it finished:\n${r.out}${r.err}`).to.equal(
    false,
  );
  expect(r.code, `${what}: ${r.out}${r.err}`).to.equal(code);
}

/** The CLI scenarios that must end by themselves on `name`. */
function exitScenarios(name: string, need: (ctx: Mocha.Context) => void, open: () => Promise<ExitStore>) {
  describe(`every CLI command exits by itself on ${name}: after success, failure or timeout`, function () {
    this.timeout(240_000);
    let store: ExitStore;
    const services: MaintenanceService[] = [];
    const cli = (args: string[], finished: RegExp, env?: Record<string, string>) =>
      cliToExit(args, { env: cliEnv(env ?? store.env), finished });
    before(async function () {
      need(this);
      store = await open();
    });
    beforeEach(async () => {
      const reset = store.service();
      await reset.disable({ by: 'test' });
      await reset.close();
    });
    afterEach(async () => {
      killCliProcesses();
      await Promise.all(services.splice(0).map((s) => s.close()));
    });
    after(async () => store?.dispose());

    it(`on --wait exits by itself once the fleet settled, ${ON_WAIT_RUNS} times in a row`, async () => {
      for (let i = 0; i < ON_WAIT_RUNS; i++) {
        exitedBySelf(await cli(['on', '--wait'], /applied revision \d+ and drained/), 0, `on --wait (run ${i + 1})`);
        exitedBySelf(await cli(['off'], /Maintenance mode is (now|already) off/), 0, `off (run ${i + 1})`);
      }
    });

    it(`run exits by itself with its command's code, ${RUN_RUNS} times in a row`, async () => {
      for (let i = 0; i < RUN_RUNS; i++) {
        const r = await cli(['run', '--', 'sh', '-c', `exit ${i}`], /exited with \d+; maintenance mode is back/);
        exitedBySelf(r, i, `run (run ${i + 1})`);
      }
    });

    it('on --wait and run exit by themselves when the fleet does not settle (an instance with work in flight)', async () => {
      const member = store.service();
      services.push(member);
      member.joinFleet({ intervalMs: 200 });
      let finish: () => void = () => undefined;
      const work = member.guard(() => new Promise<void>((done) => (finish = done)));
      await until(async () => (await member.fleet()).instances.some((i) => i.inFlight > 0), 10_000);
      try {
        for (let i = 0; i < 3; i++) {
          const r = await cli(['on', '--wait', '--timeout', '500ms'], /did not settle/);
          exitedBySelf(r, 3, `on --wait --timeout (run ${i + 1})`);
          exitedBySelf(await cli(['off'], /Maintenance mode is (now|already) off/), 0, 'off');
          const ran = await cli(['run', '--timeout', '500ms', '--', 'true'], /was not started/);
          exitedBySelf(ran, 75, `run --timeout (run ${i + 1})`);
        }
      } finally {
        finish();
        await work;
      }
    });

    it('every other command exits by itself after it succeeds', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kmm-exits-'));
      try {
        const commands: Array<[string[], RegExp]> = [
          [['status'], /Maintenance mode is/],
          [['status', '--json'], /"enabled"/],
          [['history'], /\S/],
          [['fleet'], /instance/],
          [['fleet', '--json'], /"instances"/],
          [['on', '--message', 'Upgrading'], /Maintenance mode is now on/],
          [['why', '/'], /GET \/ is blocked/],
          [['render', '--out', join(dir, 'page.html')], /Wrote /],
          [['off'], /Maintenance mode is now off/],
          [
            ['window', 'add', '--rrule', 'FREQ=WEEKLY;BYDAY=SU', '--start', '02:00', '--duration', '30m', '--id', 'w'],
            /Added window w/,
          ],
          [['window', 'list'], /\bw\b/],
          [['upcoming'], /20\d\d-/],
          [['window', 'rm', 'w'], /Removed window w/],
          [['token', 'create', '--label', 'exits', '--allow', 'read'], /mmt_/],
          [['token', 'list'], /exits/],
        ];
        for (const [args, finished] of commands) exitedBySelf(await cli(args, finished), 0, args.join(' '));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('every command exits by itself with 1 when the store is down', async () => {
      const env = await store.down();
      try {
        for (const args of [
          ['status'],
          ['on'],
          ['on', '--wait'],
          ['off'],
          ['fleet'],
          ['history'],
          ['run', '--', 'true'],
        ]) {
          exitedBySelf(await cli(args, /^Error: /m, env), 1, `${args.join(' ')} with the store down`);
        }
      } finally {
        await store.restore();
      }
    });
  });
}

exitScenarios(
  'the file store',
  () => undefined,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-exits-file-'));
    const stateFilePath = join(dir, 'state.json');
    const broken = join(dir, 'broken');
    writeFileSync(broken, ''); // a file where the state's directory should be: every read and write fails
    return {
      env: { MAINTENANCE_MODE_STATE_FILE_PATH: stateFilePath },
      service: () => new MaintenanceService({ stateFilePath, logger: captureLogger() }),
      down: async () => ({ MAINTENANCE_MODE_STATE_FILE_PATH: join(broken, 'state.json') }),
      restore: async () => undefined,
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
);

exitScenarios(
  'a real Redis',
  (ctx) => requireBinary(ctx, 'redis-server', 'redis-server'),
  async () => {
    const redis = await startRedis();
    const env = { MAINTENANCE_MODE_REDIS_URL: redis.url };
    return {
      env,
      service: () => new MaintenanceService({ store: createRedisStore(redis.url), logger: captureLogger() }),
      down: async () => {
        await redis.stop();
        return env;
      },
      restore: () => redis.restart(),
      dispose: () => redis.dispose(),
    };
  },
);

exitScenarios(
  'a real PostgreSQL',
  (ctx) => requireBinary(ctx, postgresBin('initdb') ?? 'initdb', 'postgresql'),
  async () => {
    const pg = await startPostgres();
    const env = { MAINTENANCE_MODE_POSTGRES_URL: pg.url };
    return {
      env,
      service: () => new MaintenanceService({ store: createPostgresStore(pg.url), logger: captureLogger() }),
      down: async () => {
        await pg.stop();
        return env;
      },
      restore: () => pg.restart(),
      dispose: () => pg.dispose(),
    };
  },
);
