/**
 * The service's events: Node's `EventEmitter`, inherited by the instances but not by the class. A class that
 * `extends` a Node built-in has that built-in's realm in its constructor's prototype chain; under Jest's module
 * sandbox it then fails `instanceof Function`, the test TypeDI 0.8 and 0.9 use to recognise a class (`Container.get`
 * throws "Cannot determine a class"). Here the class is a plain class of the realm that loaded it, while its
 * prototype inherits `EventEmitter.prototype`: a service is an EventEmitter (`instanceof` included) and listeners get
 * the service as `this`.
 */
import { EventEmitter } from 'node:events';

/** `EventEmitter<T>`'s methods, for the class below (declaration merging). */
export interface ServiceEvents<T extends Record<keyof T, unknown[]>> extends EventEmitter<T> {}

/** A base class whose instances are EventEmitters (see the module comment). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface declares what EventEmitter.prototype gives.
export class ServiceEvents<T extends Record<keyof T, unknown[]>> {
  constructor() {
    EventEmitter.call(this as unknown as EventEmitter);
  }
}

Object.setPrototypeOf(ServiceEvents.prototype, EventEmitter.prototype);
