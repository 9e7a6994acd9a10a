/** `maintenanceBanner(upcoming)`: the packaged announcement partial as HTML, for apps that do not use Nunjucks. */
import type { UpcomingWindow } from '../core/upcoming.js';
import { createRenderer, type Renderer } from './render.js';

let render: Renderer | undefined;

/**
 * The HTML of `views/maintenance-banner.html` for an upcoming window ('' when there is none), escaped like every
 * packaged view. Pass `ctx.state.maintenanceUpcoming` (set by `maintenance({ announceBeforeSeconds })`).
 * @example ctx.body = `<body>${maintenanceBanner(ctx.state.maintenanceUpcoming)}<main>…</main></body>`;
 */
export function maintenanceBanner(upcoming: UpcomingWindow | undefined): string {
  if (!upcoming) return '';
  render ??= createRenderer({ viewsDir: [], template: 'maintenance-banner.html' });
  return render({ maintenanceUpcoming: upcoming });
}
