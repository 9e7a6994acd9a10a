/**
 * The service's events: Node's `EventEmitter` API, held rather than inherited. A class that extends a Node built-in
 * has that built-in's realm in its prototype chain; under Jest's module sandbox it then fails `instanceof Function`,
 * the test TypeDI 0.8 and 0.9 use to recognise a class (`Container.get` throws "Cannot determine a class"). Holding
 * the emitter keeps `MaintenanceService` a plain class of the realm that loaded it.
 */
import { EventEmitter } from 'node:events';

/** The EventEmitter methods a service answers; those that return the emitter return the service instead. */
const METHODS = [
  'on',
  'once',
  'off',
  'addListener',
  'removeListener',
  'prependListener',
  'prependOnceListener',
  'removeAllListeners',
  'emit',
  'listenerCount',
  'listeners',
  'rawListeners',
  'eventNames',
  'setMaxListeners',
  'getMaxListeners',
] as const;

const EMITTER = Symbol('emitter');

/** `EventEmitter<T>`'s methods, for the class below (declaration merging). */
export interface ServiceEvents<T extends Record<keyof T, unknown[]>> extends EventEmitter<T> {}

/** A base class with Node's EventEmitter API over an emitter it holds (see the module comment). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface only declares the methods defined below.
export class ServiceEvents<T extends Record<keyof T, unknown[]>> {
  private readonly [EMITTER] = new EventEmitter();
}

for (const name of METHODS) {
  Object.defineProperty(ServiceEvents.prototype, name, {
    configurable: true,
    writable: true,
    value(this: { [EMITTER]: EventEmitter }, ...args: unknown[]) {
      const emitter = this[EMITTER];
      const result = (emitter[name] as (...a: unknown[]) => unknown).apply(emitter, args);
      return result === emitter ? this : result;
    },
  });
}
