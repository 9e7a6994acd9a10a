/** Example: Koa's `app.on('error')` logging that skips 503 errors raised while maintenance is on. */
import type Koa from 'koa';
import { createMaintenanceLogFilter, type MaintenanceService, requireNotMaintenanceMode503 } from '../../src/index.js';

/** Logs app errors with `log`, except 503s during maintenance (e.g. a route throwing ctx.throw(503) meanwhile). */
export function logAppErrors(app: Koa, log: (message: string) => void, service?: MaintenanceService): void {
  const keep = service ? createMaintenanceLogFilter(service) : requireNotMaintenanceMode503;
  app.silent = true; // replaces Koa's default console.error logging
  app.on('error', (err: Error & { status?: number }, ctx?: Koa.Context) => {
    if (!keep({ status: err.status, res: ctx?.res })) return;
    log(`${err.status ?? 500} ${ctx?.method ?? ''} ${ctx?.path ?? ''}: ${err.message}`);
  });
}
