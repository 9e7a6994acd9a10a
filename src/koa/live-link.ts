/**
 * How a page finds the live routes: the routes with `live` on register their prefix here when they are built, and a
 * `maintenance()` with `liveReload` puts the script of `<prefix>/live.js` on its pages (the 503 page, the banner) with
 * what it follows — `<prefix>/events`, with the scope — as data attributes: `liveReload.prefix` when given, else the
 * routes' default prefix when such routes were built, else the first prefix built. No routes known: no script.
 */
import type { Catalog } from '../core/i18n.js';
import { liveScript } from './live-script.js';
import { ROUTES_DEFAULTS } from './toggle-rules.js';

/** The prefixes of the routes with `live` on built in this process, in the order they were built. */
const registered = new Set<string>();

/** Records the prefix of routes that serve `/events` and `/live.js`. */
export function registerLiveRoutes(prefix: string): void {
  registered.add(prefix);
}

/** Where pages find the live routes by default: the routes' default prefix when built, else the first built. */
function registeredPrefix(): string | undefined {
  if (registered.has(ROUTES_DEFAULTS.prefix)) return ROUTES_DEFAULTS.prefix;
  for (const prefix of registered) return prefix;
  return undefined;
}

/** What the 503 page's script tag says (`live` in the page's template context). */
export interface LivePage {
  /** `<prefix>/live.js?v=<version>`. */
  readonly src: string;
  /** `<prefix>/events`, with `?scope=` for a page of a scope. */
  readonly events: string;
  /** The longest random delay before the page returns, in milliseconds. */
  readonly jitterMs: number;
}

/** What the banner's script tag says (`ctx.state.maintenanceLive`). */
export interface LiveBanner {
  readonly src: string;
  readonly events: string;
  /** How long before its start a window is announced (`announceBeforeSeconds`), in milliseconds. */
  readonly announceMs: number;
  /** The banner's label and full stop by language, as JSON (`{"en":["Scheduled maintenance:","."]}`). */
  readonly labels: string;
  /** The language whose label is used when the reader's has none. */
  readonly lang: string;
}

/** Settings of {@link LiveLink}: `liveReload` resolved, and what the banner needs. */
export interface LiveLinkSettings {
  readonly jitterMs: number;
  readonly prefix?: string;
  readonly announceMs: number;
  readonly catalogs: Readonly<Record<string, Catalog>>;
  readonly defaultLocale: string;
}

/** Memos kept per scope up to this many scopes (then started again): tenants are many, pages few. */
const MEMO_LIMIT = 1024;

/** The live attributes of one `maintenance()`: one frozen object per scope, made once. */
export class LiveLink {
  private prefix: string | undefined;
  private readonly pages = new Map<string, LivePage>();
  /** The whole site's page, once made (what nearly every blocked page carries: no lookup). */
  private sitePage: LivePage | undefined;
  private readonly banners = new Map<string, LiveBanner>();
  private siteBanner: LiveBanner | undefined;
  private labels: string | undefined;

  constructor(private readonly s: LiveLinkSettings) {}

  /** The prefix in use: the one given, else the registered one (read until one is known). */
  private where(): string | undefined {
    if (this.prefix === undefined) this.prefix = this.s.prefix ?? registeredPrefix();
    return this.prefix;
  }

  private eventsOf(prefix: string, scope: string | undefined): string {
    return scope === undefined ? `${prefix}/events` : `${prefix}/events?scope=${encodeURIComponent(scope)}`;
  }

  /** The 503 page's attributes for a page of `scope` (undefined: the whole site), or undefined without live routes. */
  page(scope: string | undefined): LivePage | undefined {
    if (scope === undefined && this.sitePage !== undefined) return this.sitePage;
    const prefix = this.where();
    if (prefix === undefined) return undefined;
    const key = scope ?? '';
    let made = this.pages.get(key);
    if (made === undefined) {
      if (this.pages.size >= MEMO_LIMIT) this.pages.clear();
      const src = `${prefix}/live.js?v=${liveScript().version}`;
      made = Object.freeze({ src, events: this.eventsOf(prefix, scope), jitterMs: this.s.jitterMs });
      this.pages.set(key, made);
      if (scope === undefined) this.sitePage = made;
    }
    return made;
  }

  /** The banner's attributes for a page of `scope`, or undefined without live routes. */
  banner(scope: string | undefined): LiveBanner | undefined {
    if (scope === undefined && this.siteBanner !== undefined) return this.siteBanner;
    const prefix = this.where();
    if (prefix === undefined) return undefined;
    const key = scope ?? '';
    let made = this.banners.get(key);
    if (made === undefined) {
      if (this.banners.size >= MEMO_LIMIT) this.banners.clear();
      this.labels ??= JSON.stringify(
        Object.fromEntries(Object.entries(this.s.catalogs).map(([l, t]) => [l, [t.scheduled, t.fullStop ?? '.']])),
      );
      made = Object.freeze({
        src: `${prefix}/live.js?v=${liveScript().version}`,
        events: this.eventsOf(prefix, scope),
        announceMs: this.s.announceMs,
        labels: this.labels,
        lang: this.s.defaultLocale,
      });
      this.banners.set(key, made);
      if (scope === undefined) this.siteBanner = made;
    }
    return made;
  }
}
