/**
 * The maintenance answer in the visitor's language: the built-in catalogs, `Accept-Language` negotiation, and the
 * choice among a message's translations. Pure.
 */

/** The texts of the maintenance page, the JSON/problem answers and the banner. `{time}` is the time left. */
export interface Catalog {
  readonly title: string;
  readonly heading: string;
  /** Shown when the state has no message. */
  readonly defaultMessage: string;
  /** Before the expected end time. */
  readonly expectedBack: string;
  /** Without an end time. */
  readonly tryAgain: string;
  /** The countdown, e.g. "{time} left". */
  readonly timeLeft: string;
  /** The RFC 9457 `detail` when the state has no message. */
  readonly problemDetail: string;
  /** Before the window of the announcement banner. */
  readonly scheduled: string;
  /** The full stop after the expected time, e.g. `。` in Japanese. @default '.' */
  readonly fullStop?: string;
}

/** Keys of a {@link Catalog}. */
export const CATALOG_KEYS = [
  'title',
  'heading',
  'defaultMessage',
  'expectedBack',
  'tryAgain',
  'timeLeft',
  'problemDetail',
  'scheduled',
  'fullStop',
] as const;

/** Keys every new language must give ({@link Catalog.fullStop} defaults to '.'). */
export const REQUIRED_CATALOG_KEYS = CATALOG_KEYS.filter((k) => k !== 'fullStop');

/** The built-in catalogs (reviewed wording, not word-for-word). */
export const CATALOGS: Readonly<Record<string, Catalog>> = Object.freeze({
  en: {
    title: 'Down for maintenance',
    heading: 'We’ll be back soon',
    defaultMessage: 'This site is down for scheduled maintenance. Thank you for your patience.',
    expectedBack: 'Expected back by',
    tryAgain: 'Please try again in a little while.',
    timeLeft: '{time} left',
    problemDetail: 'The service is down for maintenance.',
    scheduled: 'Scheduled maintenance:',
    fullStop: '.',
  },
  de: {
    title: 'Wartungsarbeiten',
    heading: 'Wir sind gleich wieder da',
    defaultMessage:
      'Diese Seite ist wegen geplanter Wartungsarbeiten vorübergehend nicht erreichbar. Vielen Dank für Ihre Geduld.',
    expectedBack: 'Voraussichtlich wieder erreichbar ab',
    tryAgain: 'Bitte versuchen Sie es in Kürze erneut.',
    timeLeft: 'noch {time}',
    problemDetail: 'Der Dienst ist wegen Wartungsarbeiten vorübergehend nicht verfügbar.',
    scheduled: 'Geplante Wartung:',
    fullStop: '.',
  },
  fr: {
    title: 'Maintenance en cours',
    heading: 'Nous revenons très vite',
    defaultMessage: 'Le site est momentanément indisponible pour une maintenance planifiée. Merci de votre patience.',
    expectedBack: 'Retour prévu vers',
    tryAgain: 'Veuillez réessayer dans quelques instants.',
    timeLeft: 'encore {time}',
    problemDetail: 'Le service est momentanément indisponible pour cause de maintenance.',
    scheduled: 'Maintenance prévue :',
    fullStop: '.',
  },
  es: {
    title: 'En mantenimiento',
    heading: 'Volvemos enseguida',
    defaultMessage: 'El sitio no está disponible por un mantenimiento programado. Gracias por tu paciencia.',
    expectedBack: 'Volveremos hacia',
    tryAgain: 'Vuelve a intentarlo dentro de un rato.',
    timeLeft: 'faltan {time}',
    problemDetail: 'El servicio no está disponible por mantenimiento.',
    scheduled: 'Mantenimiento programado:',
    fullStop: '.',
  },
  it: {
    title: 'Sito in manutenzione',
    heading: 'Torniamo presto',
    defaultMessage: 'Il sito non è raggiungibile per una manutenzione programmata. Grazie per la pazienza.',
    expectedBack: 'Torneremo online verso',
    tryAgain: 'Riprova tra poco.',
    timeLeft: 'ancora {time}',
    problemDetail: 'Il servizio non è disponibile per manutenzione.',
    scheduled: 'Manutenzione programmata:',
    fullStop: '.',
  },
  pt: {
    title: 'Em manutenção',
    heading: 'Voltamos já',
    defaultMessage: 'Este site está indisponível devido a uma manutenção programada. Obrigado pela paciência.',
    expectedBack: 'Previsão de retorno:',
    tryAgain: 'Tente novamente daqui a pouco.',
    timeLeft: 'faltam {time}',
    problemDetail: 'O serviço está indisponível para manutenção.',
    scheduled: 'Manutenção programada:',
    fullStop: '.',
  },
  nl: {
    title: 'Onderhoud',
    heading: 'We zijn zo terug',
    defaultMessage: 'Deze website is tijdelijk niet beschikbaar vanwege gepland onderhoud. Bedankt voor je geduld.',
    expectedBack: 'Naar verwachting terug om',
    tryAgain: 'Probeer het over een tijdje opnieuw.',
    timeLeft: 'nog {time}',
    problemDetail: 'De dienst is tijdelijk niet beschikbaar vanwege onderhoud.',
    scheduled: 'Gepland onderhoud:',
    fullStop: '.',
  },
  pl: {
    title: 'Przerwa techniczna',
    heading: 'Wracamy niebawem',
    defaultMessage:
      'Strona jest chwilowo niedostępna z powodu zaplanowanych prac technicznych. Dziękujemy za cierpliwość.',
    expectedBack: 'Przewidywany powrót:',
    tryAgain: 'Spróbuj ponownie za chwilę.',
    timeLeft: 'pozostało {time}',
    problemDetail: 'Usługa jest chwilowo niedostępna z powodu prac technicznych.',
    scheduled: 'Planowana przerwa techniczna:',
    fullStop: '.',
  },
  ja: {
    title: 'メンテナンス中',
    heading: 'まもなく再開します',
    defaultMessage: 'ただいま定期メンテナンスのため、サイトをご利用いただけません。しばらくお待ちください。',
    expectedBack: '再開予定：',
    tryAgain: 'しばらくしてから再度アクセスしてください。',
    timeLeft: '残り {time}',
    problemDetail: 'メンテナンスのため、サービスを一時停止しています。',
    scheduled: 'メンテナンスのお知らせ：',
    fullStop: '。',
  },
  zh: {
    title: '系统维护中',
    heading: '我们很快回来',
    defaultMessage: '本站正在进行计划内维护，暂时无法访问。感谢您的耐心等待。',
    expectedBack: '预计恢复时间：',
    tryAgain: '请稍后再试。',
    timeLeft: '剩余 {time}',
    problemDetail: '服务正在维护，暂时无法使用。',
    scheduled: '计划维护：',
    fullStop: '。',
  },
} satisfies Record<string, Catalog>);

/** A language tag as used here: `de`, `pt-BR`, `zh-Hant`. */
export const LOCALE_TAG = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

/** A message in several languages: `{ en: '…', de: '…' }`. */
export type LocalizedText = Readonly<Record<string, string>>;

/**
 * How much of an `Accept-Language` header is negotiated: browsers send a few dozen characters; a hostile client can
 * send kilobytes of distinct tags to make every blocked request expensive. Only the first `chars` characters (cut at
 * a comma) and the first `tags` language ranges count.
 */
export const ACCEPT_LANGUAGE_LIMITS = Object.freeze({ chars: 256, tags: 16 });

/** The part of `header` that is negotiated (see {@link ACCEPT_LANGUAGE_LIMITS}); also the key of cached choices. */
export function boundedAcceptLanguage(header: string): string {
  if (header.length <= ACCEPT_LANGUAGE_LIMITS.chars) return header;
  const cut = header.lastIndexOf(',', ACCEPT_LANGUAGE_LIMITS.chars);
  return cut === -1 ? '' : header.slice(0, cut);
}

/** The q-value of the parameters after a language range (`;q=0.8`), 1 without one; NaN when unreadable. */
function qualityOf(params: string): number {
  const at = params.indexOf('q=');
  if (at === -1) return 1;
  const end = params.indexOf(';', at);
  return Number(params.slice(at + 2, end === -1 ? undefined : end).trim());
}

/**
 * Calls `visit(tag, params, position)` for each language range of `header` within the limits (`*` and empty ranges
 * skipped); `params` is what follows the range's first `;` (empty without one). Parses nothing it is not asked to.
 */
function eachRange(header: string, visit: (tag: string, params: string, position: number) => void): void {
  const parts = boundedAcceptLanguage(header).split(',', ACCEPT_LANGUAGE_LIMITS.tags);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const semi = part.indexOf(';');
    const tag = (semi === -1 ? part : part.slice(0, semi)).trim();
    if (tag !== '' && tag !== '*') visit(tag, semi === -1 ? '' : part.slice(semi + 1), i);
  }
}

/** The locales of an `Accept-Language` header, best first (`q=0` dropped; `*` ignored), within the limits. */
export function acceptedLocales(header: string | undefined): string[] {
  if (!header) return [];
  const ranked: Array<{ tag: string; q: number; i: number }> = [];
  eachRange(header, (tag, params, i) => {
    const q = params === '' ? 1 : qualityOf(params);
    if (Number.isFinite(q) && q > 0) ranked.push({ tag, q, i });
  });
  return ranked.sort((a, b) => b.q - a.q || a.i - b.i).map((r) => r.tag);
}

/** How the available locales are looked up: exact tag, base language, and the first regional form of a base. */
interface LocaleIndex {
  readonly exact: ReadonlyMap<string, string>;
  readonly regional: ReadonlyMap<string, string>;
}

const indexes = new WeakMap<readonly string[], LocaleIndex>();

/** The lookup maps of `available`, built once per list. */
function indexOf(available: readonly string[]): LocaleIndex {
  let index = indexes.get(available);
  if (!index) {
    const exact = new Map<string, string>();
    const regional = new Map<string, string>();
    for (const locale of available) {
      const lower = locale.toLowerCase();
      if (!exact.has(lower)) exact.set(lower, locale);
      const base = baseOf(lower);
      if (base !== lower && !regional.has(base)) regional.set(base, locale);
    }
    index = { exact, regional };
    indexes.set(available, index);
  }
  return index;
}

const baseOf = (tag: string) => {
  const dash = tag.indexOf('-');
  return dash === -1 ? tag : tag.slice(0, dash);
};

/**
 * The best of `available` for `header` (`pt-BR` matches `pt`, `de` matches `de-AT`), else `fallback`: the matching
 * range with the highest q-value, the first one on a tie. Only ranges that match are weighed (a hostile header of
 * unknown tags costs a lookup per range, within {@link ACCEPT_LANGUAGE_LIMITS}).
 */
export function negotiateLocale(header: string | undefined, available: readonly string[], fallback: string): string {
  if (!header) return fallback;
  const { exact, regional } = indexOf(available);
  let best = fallback;
  let bestQ = 0;
  eachRange(header, (tag, params) => {
    const w = tag.toLowerCase();
    const found = exact.get(w) ?? exact.get(baseOf(w)) ?? regional.get(w);
    if (found === undefined) return;
    const q = params === '' ? 1 : qualityOf(params);
    if (q > bestQ) {
      best = found;
      bestQ = q;
    }
  });
  return best;
}

/** The text of `message` for `locale`: itself when it is one text; else that locale, its base, `fallback`, or any. */
export function pickText(
  message: string | LocalizedText | undefined,
  locale: string,
  fallback: string,
): string | undefined {
  if (message === undefined || typeof message === 'string') return message;
  return message[locale] ?? message[locale.split('-')[0]] ?? message[fallback] ?? Object.values(message).find(Boolean);
}

/** A message as one reader sees it: the text in their language (or the nearest one), and its other languages. */
export interface MessageView {
  readonly text?: string;
  /** The language `text` is in, when the message has several. */
  readonly lang?: string;
  /** The message's other languages, sorted. */
  readonly others: readonly string[];
}

/** The {@link MessageView} of `message` for a reader of `locale` (`fallback` when neither it nor its base is there). */
export function messageView(
  message: string | LocalizedText | undefined,
  locale: string,
  fallback: string,
): MessageView {
  if (message === undefined || typeof message === 'string') return { text: message, others: [] };
  const text = pickText(message, locale, fallback);
  const lang = Object.keys(message).find((tag) => message[tag] === text);
  return {
    text,
    lang,
    others: Object.keys(message)
      .filter((tag) => tag !== lang)
      .sort(),
  };
}
