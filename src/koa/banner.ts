/** `maintenanceBanner(upcoming)`: the packaged announcement partial as HTML, for apps that do not use Nunjucks. */
import { CATALOGS } from '../core/i18n.js';
import type { UpcomingWindow } from '../core/upcoming.js';
import type { LiveBanner } from './live-link.js';
import { createRenderer, type Renderer } from './render.js';

let render: Renderer | undefined;

/** What `maintenance()` puts on `ctx.state` for the banner. */
export interface BannerState {
  /** The window announced now (`announceBeforeSeconds`). */
  readonly maintenanceUpcoming?: UpcomingWindow;
  /** What the banner's script follows (`liveReload` with `announceBeforeSeconds`, once live routes are known). */
  readonly maintenanceLive?: LiveBanner;
}

/** Whether `value` is a `ctx.state` (one of the banner's keys, or no `start` as a window has), not a window. */
function isBannerState(value: UpcomingWindow | BannerState): value is BannerState {
  return (
    'maintenanceUpcoming' in value ||
    'maintenanceLive' in value ||
    typeof (value as { start?: unknown }).start !== 'string'
  );
}

/**
 * The HTML of `views/maintenance-banner.html` ('' when there is nothing to show), escaped like every packaged view.
 * Pass `ctx.state`: the window announced (`ctx.state.maintenanceUpcoming`, set by
 * `maintenance({ announceBeforeSeconds })`: its message and label already in the visitor's language) and, with
 * `liveReload` and live routes, the banner's script (`ctx.state.maintenanceLive`), which shows, changes and hides the
 * banner as windows are planned and cancelled, without a reload. Passing `ctx.state.maintenanceUpcoming` alone gives
 * the banner without the script. `lang` picks a built-in catalog's label for a window built by hand.
 * @default lang upcoming.lang, else 'en'
 * @example ctx.body = `<body>${maintenanceBanner(ctx.state)}<main>…</main></body>`;
 */
export function maintenanceBanner(from: UpcomingWindow | BannerState | undefined, lang?: string): string {
  if (!from) return '';
  const { maintenanceUpcoming, maintenanceLive } = isBannerState(from)
    ? from
    : { maintenanceUpcoming: from, maintenanceLive: undefined };
  if (!maintenanceUpcoming && !maintenanceLive) return '';
  render ??= createRenderer({ viewsDir: [], template: 'maintenance-banner.html' });
  const tag = lang ?? maintenanceUpcoming?.lang ?? 'en';
  const t = CATALOGS[tag] ?? CATALOGS[tag.split('-')[0]] ?? CATALOGS.en;
  return render({ maintenanceUpcoming, maintenanceLive, t });
}
