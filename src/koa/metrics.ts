/**
 * Metrics through `@opentelemetry/api` (the only file loading it): a no-op until the app installs an OpenTelemetry
 * SDK, and nothing at all when the package is not installed. Counted only while a state is active or a route is
 * forced, so the off path stays free.
 * - counter `maintenance.requests` {decision: pass | blocked | would-block, rule, scope?}
 * - gauge `maintenance.active` {scope?}: 1 while the state (global, or a scope's) blocks requests, else 0
 */
import type { DecisionTrace } from '../core/decide.js';
import { blocksRequests } from '../core/state.js';
import type { MaintenanceService } from '../service/service.js';

type Api = typeof import('@opentelemetry/api');

let api: Api | null | undefined;
function otel(): Api | null {
  if (api === undefined) {
    try {
      api = require('@opentelemetry/api') as Api;
    } catch {
      api = null; // not installed: metrics are off
    }
  }
  return api;
}

/** Records one decision. */
export type DecisionCounter = (decision: DecisionTrace) => void;

const METER = 'koa-maintenance-mode';
const watched = new WeakSet<MaintenanceService>();

function decisionOf(d: DecisionTrace): string {
  return d.blocked ? 'blocked' : d.wouldBlock ? 'would-block' : 'pass';
}

/**
 * The counter of one `maintenance()`, and (once per service) the `maintenance.active` gauge over the service's last
 * known states; the meter comes from the global provider when the first decision is counted, so an SDK installed
 * after app setup is honoured.
 */
export function createDecisionCounter(service: () => MaintenanceService): DecisionCounter {
  let counter: { add(n: number, attributes: Record<string, string>): void } | undefined;
  return (d) => {
    const o = otel();
    if (!o) return;
    if (!counter) {
      const meter = o.metrics.getMeter(METER);
      counter = meter.createCounter('maintenance.requests', {
        description: 'Requests decided while maintenance was active or their route forced, by decision and rule',
      });
    }
    const attributes: Record<string, string> = { decision: decisionOf(d), rule: d.rule };
    if (d.scope !== undefined) attributes.scope = d.scope;
    counter.add(1, attributes);
    watchActive(o, service());
  };
}

/** Registers the `maintenance.active` gauge of `service` (once per service). */
export function watchActive(o: Api | null, service: MaintenanceService): void {
  if (!o || watched.has(service)) return;
  watched.add(service);
  const gauge = o.metrics.getMeter(METER).createObservableGauge('maintenance.active', {
    description: '1 while maintenance blocks requests (the whole site, or the scope named), else 0',
  });
  gauge.addCallback((result) => {
    const now = new Date();
    result.observe(blocksRequests(service.lastKnownState(), now) ? 1 : 0);
    for (const [scope, state] of service.knownScopeStates()) {
      result.observe(blocksRequests(state, now) ? 1 : 0, { scope });
    }
  });
}

/** `watchActive` for callers that do not hold the API (the middleware at setup). */
export function registerActiveGauge(service: MaintenanceService): void {
  watchActive(otel(), service);
}
