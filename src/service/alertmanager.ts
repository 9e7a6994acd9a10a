/**
 * Alertmanager's API v2, the calls silences need, over Node's built-in fetch: list the silences
 * (`GET /api/v2/silences`), make or update one (`POST /api/v2/silences`, with `id` to update), expire one
 * (`DELETE /api/v2/silence/{id}`). Each call is bounded; no redirect is followed; errors name the Alertmanager's
 * origin only (its URL may hold credentials).
 */
import type { ListedSilence } from '../core/silence.js';
import type { SilenceConfig } from '../core/silence-options.js';

/** Bound of one call, in milliseconds. */
export const ALERTMANAGER_TIMEOUT_MS = 5000;

/** The calls a silence makes to its Alertmanager; each throws an `Error` saying what went wrong. */
export interface Alertmanager {
  /** Every silence Alertmanager keeps (expired ones included). */
  list(): Promise<ListedSilence[]>;
  /** Makes a silence (or updates the one whose `id` the body names); resolves with its id. */
  post(body: Record<string, unknown>): Promise<string>;
  /** Expires the silence `id`; one Alertmanager no longer knows counts as expired. */
  expire(id: string): Promise<void>;
}

/** What a failed call says, without the URL (fetch errors may carry it). */
function reason(err: unknown, config: SilenceConfig): string {
  const e = err as Error & { cause?: { code?: string } };
  const text = e.name === 'TimeoutError' ? `no answer within ${ALERTMANAGER_TIMEOUT_MS} ms` : e.message;
  const detail = e.cause?.code ? `${text} (${e.cause.code})` : text;
  return detail.split(config.api).join(config.shown);
}

/** The first line of an error answer, short (Alertmanager answers a JSON string or `{ message }`). */
async function answerText(res: Response): Promise<string> {
  const text = (await res.text().catch(() => '')).trim();
  let said = text;
  try {
    const parsed = JSON.parse(text) as unknown;
    said = typeof parsed === 'string' ? parsed : String((parsed as { message?: unknown })?.message ?? text);
  } catch {
    // not JSON: the text itself
  }
  return said.split('\n')[0].slice(0, 200);
}

/** The client of one configured Alertmanager. */
export function alertmanagerClient(config: SilenceConfig, userAgent: string): Alertmanager {
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': userAgent };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (config.authorization) headers.Authorization = config.authorization;
    let res: Response;
    try {
      res = await fetch(`${config.api}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(ALERTMANAGER_TIMEOUT_MS),
      });
    } catch (err) {
      throw new Error(reason(err, config));
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`${method} ${path} answered ${res.status}, a redirect (not followed)`);
    }
    return res;
  };
  const failed = async (res: Response, what: string) =>
    new Error(`${what} answered ${res.status}: ${await answerText(res)}`);
  return {
    async list() {
      const res = await call('GET', '/silences');
      if (!res.ok) throw await failed(res, 'GET /silences');
      const listed = (await res.json()) as unknown;
      if (!Array.isArray(listed)) throw new Error('GET /silences answered something other than a list');
      return listed as ListedSilence[];
    },
    async post(body) {
      const res = await call('POST', '/silences', body);
      if (!res.ok) throw await failed(res, 'POST /silences');
      const { silenceID } = (await res.json()) as { silenceID?: unknown };
      if (typeof silenceID !== 'string') throw new Error('POST /silences answered no silenceID');
      return silenceID;
    },
    async expire(id) {
      const path = `/silence/${encodeURIComponent(id)}`;
      const res = await call('DELETE', path);
      if (res.ok || res.status === 404) {
        await res.body?.cancel().catch(() => undefined);
        return;
      }
      const said = await answerText(res);
      if (/not found/i.test(said)) return; // Alertmanager 0.25 answers 500 "silence not found"
      throw new Error(`DELETE ${path} answered ${res.status}: ${said}`);
    },
  };
}
