/** Example: a pino logger that drops maintenance 503 records (pino-http style `res.statusCode`, or `status`). */
import pino, { type DestinationStream, type Logger } from 'pino';
import { createMaintenanceLogFilter, type MaintenanceService, requireNotMaintenanceMode503 } from '../../src/index.js';

/** pino with a `hooks.logMethod` that skips records the maintenance filter rejects. */
export function createPinoLogger(destination: DestinationStream, service?: MaintenanceService): Logger {
  const keep = service ? createMaintenanceLogFilter(service) : requireNotMaintenanceMode503;
  return pino(
    {
      hooks: {
        logMethod(args, method) {
          if (typeof args[0] === 'object' && args[0] !== null && !keep(args[0])) return;
          method.apply(this, args);
        },
      },
    },
    destination,
  );
}
