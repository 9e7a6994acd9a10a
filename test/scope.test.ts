import { expect } from 'chai';
import Keyv from 'keyv';
import { Container } from 'typedi';
import { MaintenanceError, MaintenanceService, withMaintenanceOff, withMaintenanceOn } from '../src/index.js';
import { captureLogger, inSeconds } from './helpers/app.js';

function pair() {
  const keyv = new Keyv();
  const logger = captureLogger();
  const service = new MaintenanceService({ store: keyv, logger });
  // another instance / the CLI, reading the store on every call (a plain keyv pushes no changes)
  const other = new MaintenanceService({ store: keyv, cacheTtlMs: 0, logger: captureLogger() });
  return { service, other, logger };
}

describe('withMaintenanceOn / withMaintenanceOff', () => {
  it('switches the shared state on for fn, returns its result, and switches back off', async () => {
    const { service, other } = pair();
    const result = await withMaintenanceOn(
      async () => {
        expect(await other.isEnabled()).to.equal(true); // every instance sees it
        return 42;
      },
      { service },
    );
    expect(result).to.equal(42);
    expect(await other.isEnabled()).to.equal(false);
  });

  it('restores the exact state from before, schedule and message included', async () => {
    const { service } = pair();
    const end = inSeconds(3600);
    await service.enable({ message: 'planned', end, by: 'ops' });
    const { revision, ...before } = await service.getState();
    await withMaintenanceOff(async () => expect(await service.isEnabled()).to.equal(false), { service });
    const { revision: after, ...restored } = await service.getState();
    expect(restored).to.deep.equal(before);
    expect(after).to.be.greaterThan(revision as number); // a new write of the same state
  });

  it("restores even when fn throws, and rethrows fn's error", async () => {
    const { service } = pair();
    const err = await withMaintenanceOn(
      () => {
        throw new Error('migration failed');
      },
      { service },
    ).catch((e) => e);
    expect(err.message).to.equal('migration failed');
    expect(await service.isEnabled()).to.equal(false);
  });

  it('writes nothing when the state already is what the scope wants', async () => {
    const { service } = pair();
    await service.enable({ message: 'keep me', by: 'ops' });
    const before = await service.getState();
    await withMaintenanceOn(async () => expect(await service.getState()).to.deep.equal(before), { service });
    expect(await service.getState()).to.deep.equal(before);
  });

  it('composes nested scopes: the inner one wins while it runs, the outer state comes back after it', async () => {
    const { service, other } = pair();
    await withMaintenanceOn(
      async () => {
        await withMaintenanceOff(async () => expect(await other.isEnabled()).to.equal(false), { service });
        expect(await other.isEnabled()).to.equal(true);
      },
      { service },
    );
    expect(await other.isEnabled()).to.equal(false);
  });

  it('reference-counts overlapping scopes: the state is restored only when the last one ends', async () => {
    const { service, other } = pair();
    let releaseA!: () => void;
    const a = withMaintenanceOn(() => new Promise<void>((r) => (releaseA = r)), { service });
    let releaseB!: () => void;
    const b = withMaintenanceOn(() => new Promise<void>((r) => (releaseB = r)), { service });
    await new Promise((r) => setTimeout(r, 20));
    expect(await other.isEnabled()).to.equal(true);
    releaseA();
    await a;
    expect(await other.isEnabled()).to.equal(true); // b still runs
    releaseB();
    await b;
    expect(await other.isEnabled()).to.equal(false);
  });

  it('leaves a state someone else set during the scope alone, and warns', async () => {
    const { service, other, logger } = pair();
    await withMaintenanceOn(() => other.enable({ message: 'ops took over', by: 'ops' }), { service });
    expect(await other.getState()).to.include({ enabled: true, message: 'ops took over' });
    expect(logger.warnings).to.have.length(1);
    expect(logger.warnings[0]).to.match(/changed outside withMaintenanceOn\/Off.*leaving it/);
  });

  it('records who switched it', async () => {
    const { service, other } = pair();
    await withMaintenanceOn(async () => expect((await other.getState()).updatedBy).to.equal('nightly-import'), {
      service,
      by: 'nightly-import',
    });
    await withMaintenanceOn(async () => expect((await other.getState()).updatedBy).to.equal('withMaintenanceOn'), {
      service,
    });
  });

  it('uses the container service by default', async () => {
    const { service } = pair();
    Container.set(MaintenanceService, service);
    try {
      await withMaintenanceOn(async () => expect(await service.isEnabled()).to.equal(true));
      expect(await service.isEnabled()).to.equal(false);
    } finally {
      Container.reset();
    }
  });

  it('does not run fn when the state cannot be switched (mode forces it)', async () => {
    const service = new MaintenanceService({ store: new Keyv(), mode: false });
    let ran = false;
    const err = await withMaintenanceOn(
      () => {
        ran = true;
      },
      { service },
    ).catch((e) => e);
    expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_MODE_FORCED');
    expect(ran).to.equal(false);
  });

  it('rejects a non-function', async () => {
    const err = await withMaintenanceOn('job' as never).catch((e) => e);
    expect(err).to.be.instanceOf(TypeError);
  });
});
