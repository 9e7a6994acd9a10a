/**
 * The service's events ({@link MaintenanceServiceEvents}) and how it emits them: Node's `EventEmitter`, inherited by
 * the instances but not by the class. A class that `extends` a Node built-in has that built-in's realm in its
 * constructor's prototype chain; under Jest's module sandbox it then fails `instanceof Function`, the test TypeDI 0.8
 * and 0.9 use to recognise a class (`Container.get` throws "Cannot determine a class"). Here the class is a plain
 * class of the realm that loaded it, while its prototype inherits `EventEmitter.prototype`: a service is an
 * EventEmitter (`instanceof` included) and listeners get the service as `this`.
 */
import { EventEmitter } from 'node:events';
import type { AutoRecoverEvent, AutoTripEvent } from '../core/auto-trip.js';
import type { MaintenanceError } from '../core/errors.js';
import type { NotifyEvent } from '../core/notify.js';
import type { Fleet } from '../core/presence.js';
import type { MaintenanceState } from '../core/state.js';
import type { NotifyFailure } from './notify-delivery.js';

/** Events of `MaintenanceService`: the state in force changed (seen by every instance), or a read failed. */
export interface MaintenanceServiceEvents {
  /** `scope` is set when a scope changed (only while something on this instance uses scopes). */
  enabled: [state: MaintenanceState, scope?: string];
  disabled: [state: MaintenanceState, scope?: string];
  scheduled: [state: MaintenanceState, scope?: string];
  storeError: [error: MaintenanceError];
  /** A `waitForFleet()` of this service settled: every live instance applied the revision (and drained). */
  'fleet-settled': [fleet: Fleet];
  /** A notification (`notify`) was posted; `url` is the webhook's origin. */
  notified: [event: NotifyEvent, url: string];
  /** A notification failed after its retries (also logged once). */
  'notify-failed': [failure: NotifyFailure];
  /** An `autoTrip()` check of this service failed `failAfter` times in a row (`switched`: it switched maintenance on). */
  'auto-trip': [trip: AutoTripEvent];
  /** An `autoTrip()` check of this service recovered (`switched`: it switched its trip off). */
  'auto-recover': [recovery: AutoRecoverEvent];
}

/** A `MaintenanceService` as the emitter of its events (what its parts need of it to tell them). */
export type ServiceEmitter = ServiceEvents<MaintenanceServiceEvents>;

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
