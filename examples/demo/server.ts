/** `npm start`: runs the demo on PORT (default 3000) with the embedded file store in the current directory. */
import 'reflect-metadata';
import { Container } from 'typedi';
import { MaintenanceService } from '../../src/index.js';
import { createDemoApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const service = Container.get(MaintenanceService);
const app = createDemoApp();
app.listen(port, '127.0.0.1', () => {
  const file = service.config.stateFilePath;
  console.log(`Demo shop on http://127.0.0.1:${port}/  (state file: ${file})
Switch maintenance from another terminal in this directory:
  on:           echo 1 > maintenance_mode_state.json
  with message: echo '{"enabled":true,"message":"Upgrading the database"}' > maintenance_mode_state.json
  off:          echo 0 > maintenance_mode_state.json
Then reload http://127.0.0.1:${port}/ (503 page), /api/products (JSON) and /healthz (still 200). Ctrl+C stops.`);
});
