/** `maintenanceBanner(upcoming)`: the packaged announcement partial as HTML, for apps that do not use Nunjucks. */
import { CATALOGS } from '../core/i18n.js';
import type { UpcomingWindow } from '../core/upcoming.js';
import { createRenderer, type Renderer } from './render.js';

let render: Renderer | undefined;

/**
 * The HTML of `views/maintenance-banner.html` for an upcoming window ('' when there is none), escaped like every
 * packaged view. Pass `ctx.state.maintenanceUpcoming` (set by `maintenance({ announceBeforeSeconds })`): its message
 * and label are already in the visitor's language. `lang` picks a built-in catalog's label for a window built by hand.
 * @default lang upcoming.lang, else 'en'
 * @example ctx.body = `<body>${maintenanceBanner(ctx.state.maintenanceUpcoming)}<main>…</main></body>`;
 */
export function maintenanceBanner(upcoming: UpcomingWindow | undefined, lang = upcoming?.lang ?? 'en'): string {
  if (!upcoming) return '';
  render ??= createRenderer({ viewsDir: [], template: 'maintenance-banner.html' });
  const t = CATALOGS[lang] ?? CATALOGS[lang.split('-')[0]] ?? CATALOGS.en;
  return render({ maintenanceUpcoming: upcoming, t });
}
