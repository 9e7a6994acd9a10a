/** `npm start`: runs the demo on PORT (default 3000) with the embedded file store in the current directory. */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Container } from 'typedi';
import { MaintenanceService } from '../../src/index.js';
import { createDemoApp } from './app.js';

const wanted = Number(process.env.PORT ?? 3000);
const service = Container.get(MaintenanceService);
const app = createDemoApp({ service });
/** A token for the control API, made afresh at each start and valid for a day (the store keeps only its hash). */
async function demoToken(): Promise<string | undefined> {
  try {
    const made = await service.createToken({
      label: 'demo',
      allow: ['on', 'off', 'windows', 'read'],
      ttlMs: 86_400_000,
    });
    return made.token;
  } catch (err) {
    console.error(`(no control API token: ${(err as Error).message})`);
    return undefined;
  }
}

const server = app.listen(wanted, '127.0.0.1', async () => {
  const port = (server.address() as AddressInfo).port; // PORT=0 picks a free one
  const token = await demoToken();
  const base = `http://127.0.0.1:${port}`;
  console.log(`Demo shop on ${base}/  (state file: ${service.config.stateFilePath})

In the browser: sign in as demo / demo, open ${base}/maintenance-mode/ and switch maintenance on.
Open ${base}/ in a private window to see the maintenance page; switch it off on the status page.

From a second terminal in this directory (the maintenance-mode CLI; npx maintenance-mode once installed):
  npm run maintenance-mode -- on --message "Upgrading the database" --end +1h
  npm run maintenance-mode -- status
  npm run maintenance-mode -- off
(or without the CLI: echo 1 > maintenance_mode_state.json, echo 0 > maintenance_mode_state.json)
${
  token
    ? `
The control API, as a pipeline calls it (this token works for a day; OpenAPI at ${base}/maintenance-mode/api/openapi.json):
  curl -s -X POST -H "Authorization: Bearer ${token}" -H "Content-Type: application/json" \\
    -d '{"message":"Deploying"}' ${base}/maintenance-mode/api/on
  curl -s -H "Authorization: Bearer ${token}" ${base}/maintenance-mode/api/state
`
    : ''
}/healthz, /readyz and /api/health keep answering during maintenance. Ctrl+C stops.`);
});
// A graceful stop (Ctrl+C, a deploy's SIGTERM): the instance leaves the fleet, held requests are answered, then it exits.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    void service.close().finally(() => process.exit(0));
  });
}
server.on('error', (err: NodeJS.ErrnoException) => {
  const problem =
    err.code === 'EADDRINUSE'
      ? `port ${wanted} is in use by another program; stop it, or start the demo on another port: PORT=3001 npm start`
      : err.code === 'EACCES'
        ? `port ${wanted} needs privileges this user lacks; use a port above 1023: PORT=3000 npm start`
        : err.message;
  console.error(`Error: ${problem}`);
  process.exit(1);
});
