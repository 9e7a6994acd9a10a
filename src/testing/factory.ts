/**
 * What a store under the contract suite is: how to open it, what it can do, and how to break it. The type users write
 * for their own store, and its check.
 */
import type { MaintenanceServiceOptions } from '../service/service-options.js';

/** A store as `new MaintenanceService({ store })` takes it. */
export type ContractStore = NonNullable<MaintenanceServiceOptions['store']>;

/**
 * What the store can do beyond keeping the state, history, scopes and tokens (which every store must). Each one is
 * expected unless set to `false`; a scenario that needs one the factory turns off is left out.
 */
export interface MaintenanceStoreCapabilities {
  /**
   * Changes reach every other service on the store at once, without waiting for its `cacheTtlMs` (a change feed: Redis
   * pub/sub, PostgreSQL LISTEN/NOTIFY, the file store's watch). @default true
   */
  readonly push?: boolean;
  /** Keeps the presence of the instances serving it (`fleet()`, `waitForFleet()`). @default true */
  readonly presence?: boolean;
  /**
   * Instances writing at the same instant lose nothing: every switch gets its own revision and history entry, every
   * scope its own switch, and a claim (a notification told once per fleet) is won once. @default true
   */
  readonly atomic?: boolean;
}

/**
 * Controls that break the store on purpose (a private server the factory started, never a shared one). Each is
 * optional; the scenarios that need a control the factory does not give are left out (the suite's title counts them).
 */
export interface MaintenanceStoreFaults {
  /** Makes the server stop answering while its connections stay open (SIGSTOP). Needs `resume`. */
  stall?(): void | Promise<void>;
  /** Ends a `stall` (SIGCONT). */
  resume?(): void | Promise<void>;
  /** Takes the server away: connections are refused (stop the process). Needs `restart`. */
  kill?(): void | Promise<void>;
  /** Brings a killed server back, holding everything it acknowledged before. */
  restart?(): void | Promise<void>;
  /**
   * Puts an unreadable global state where the store keeps it (called after the store was written at least once).
   * Resolves with the words that say where it lies, which the store's error must contain (the file path, the key).
   */
  corrupt?(): string | Promise<string>;
  /**
   * Writes `text` as the presence record of instance `id`, as a forger or a broken writer would: never expiring, never
   * rewritten. Records so written need not be removed: the scenarios use ids of their own.
   */
  forgePresence?(id: string, text: string): void | Promise<void>;
}

/** How the contract suite gets at a store. */
export interface MaintenanceStoreFactory {
  /**
   * Opens the store: a new handle on the same data at every call, as a second app instance would open its own (for
   * a store that cannot be opened twice, such as an in-memory Keyv, the same object each time). Called once for every
   * service a scenario makes; the service closes what it got when the scenario ends.
   */
  create(): ContractStore | Promise<ContractStore>;
  /** Runs once before the scenarios: start a server, make a directory. @default nothing */
  setup?(): void | Promise<void>;
  /** Runs once after them: stop the server, remove its data. @default nothing */
  teardown?(): void | Promise<void>;
  /** What the store can do; each capability is expected unless set to `false`. @default {} (all of them) */
  readonly capabilities?: MaintenanceStoreCapabilities;
  /** Ways to break the store; failure scenarios run only with them. @default {} (failure scenarios left out) */
  readonly faults?: MaintenanceStoreFaults;
  /**
   * Why the store cannot be tested here (e.g. its server is not installed): every scenario is skipped with this
   * reason. @default undefined (it can)
   */
  readonly unavailable?: string;
}

/** The capabilities a factory may turn off. */
export const CAPABILITIES: readonly ContractNeed[] = ['push', 'presence', 'atomic'];

/** What a scenario needs: a capability, or a fault control. */
export type ContractNeed = keyof MaintenanceStoreCapabilities | 'stall' | 'kill' | 'corrupt' | 'forgePresence';

/** The fault control that each pair needs with it (a stalled or killed server must come back for what follows). */
const PAIRS = [
  ['stall', 'resume'],
  ['kill', 'restart'],
] as const;

/** What a store without each capability lacks, as the suite says it. */
const WITHOUT: Readonly<Record<keyof MaintenanceStoreCapabilities, string>> = {
  push: 'the factory says the store pushes no changes',
  presence: 'the factory says the store keeps no presence',
  atomic: 'the factory says writes at the same instant are not atomic on the store',
};

/** Checks the factory when the suite is declared: a missing `create` or half a fault pair throws a TypeError. */
export function checkFactory(name: string, factory: MaintenanceStoreFactory): void {
  if (typeof factory?.create !== 'function') {
    throw new TypeError(
      `describeMaintenanceStore(${JSON.stringify(name)}, factory): factory.create must be a function.`,
    );
  }
  const faults = factory.faults ?? {};
  for (const [first, second] of PAIRS) {
    if ((faults[first] === undefined) !== (faults[second] === undefined)) {
      throw new TypeError(
        `describeMaintenanceStore(${JSON.stringify(name)}, factory): faults.${first} and faults.${second} go together; give both or neither.`,
      );
    }
  }
}

/** Why the factory cannot run a scenario that needs `need`, or undefined when it can. */
export function lacking(factory: MaintenanceStoreFactory, need: ContractNeed): string | undefined {
  if (need === 'push' || need === 'presence' || need === 'atomic') {
    return factory.capabilities?.[need] === false ? `${WITHOUT[need]} (capabilities.${need}: false)` : undefined;
  }
  return typeof factory.faults?.[need] === 'function' ? undefined : `the factory gives no faults.${need}`;
}
