// The README's metrics to Prometheus. Run by test/readme.test.ts with METRICS_PORT set to a free port.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService, maintenance } from 'koa-maintenance-mode';

const port = Number(process.env.METRICS_PORT ?? 9464);

// #region readme
import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
const exporter = new PrometheusExporter({ port });    // scrape :9464/metrics
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
// → maintenance_requests_total{decision="blocked",rule="maintenance"} 12, maintenance_active 1
// #endregion

const service = new MaintenanceService({ store: new Keyv() });
const app = new Koa();
app.use(maintenance({ service }));
await service.enable();
const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
await new Promise((r) => setTimeout(r, 100));
const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
assert.match(text, /maintenance_requests_total\{[^}]*decision="blocked"[^}]*rule="maintenance"[^}]*\} 1/);
assert.match(text, /maintenance_active\{?[^\n]*\}? 1/);
server.close();
await exporter.shutdown();
await service.close();
