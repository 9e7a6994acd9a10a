/** `npm start`: runs the demo on PORT (default 3000) with the embedded file store in the current directory. */
import 'reflect-metadata';
import { Container } from 'typedi';
import { MaintenanceService } from '../../src/index.js';
import { createDemoApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const service = Container.get(MaintenanceService);
const app = createDemoApp({ service });
app.listen(port, '127.0.0.1', () => {
  console.log(`Demo shop on http://127.0.0.1:${port}/  (state file: ${service.config.stateFilePath})

In the browser: sign in as demo / demo, open http://127.0.0.1:${port}/maintenance-mode/ and switch maintenance on.
Open http://127.0.0.1:${port}/ in a private window to see the maintenance page; switch it off on the status page.

From a second terminal in this directory (the maintenance-mode CLI; npx maintenance-mode once installed):
  npm run maintenance-mode -- on --message "Upgrading the database" --end ${new Date(Date.now() + 3600_000).toISOString()}
  npm run maintenance-mode -- status
  npm run maintenance-mode -- off
(or without the CLI: echo 1 > maintenance_mode_state.json, echo 0 > maintenance_mode_state.json)
/healthz, /readyz and /api/health keep answering during maintenance. Ctrl+C stops.`);
});
