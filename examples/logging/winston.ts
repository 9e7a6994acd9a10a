/** Example: a winston logger whose format drops maintenance 503 records. */
import type { Writable } from 'node:stream';
import winston from 'winston';
import { createMaintenanceLogFilter, type MaintenanceService, requireNotMaintenanceMode503 } from '../../src/index.js';

/** A winston format: returning false drops the record. */
export function dropMaintenance503(service?: MaintenanceService) {
  const keep = service ? createMaintenanceLogFilter(service) : requireNotMaintenanceMode503;
  return winston.format((info) => (keep(info) ? info : false))();
}

/** winston writing JSON lines to `stream`, without maintenance 503 records. */
export function createWinstonLogger(stream: Writable, service?: MaintenanceService): winston.Logger {
  return winston.createLogger({
    format: winston.format.combine(dropMaintenance503(service), winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
}
