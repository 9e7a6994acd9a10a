/**
 * Posting notifications: each wanted event to each webhook, signed, with a bounded retry and backoff, in the
 * background (a toggle never waits for a webhook). No redirect is followed (a 3xx is a failure: the body never goes to
 * a host that was not configured). A delivery that fails for good is logged once, with the URL's origin only, and
 * reported to `onFailure`; `flush()` waits for what is on its way (bounded), so a CLI run posts before it exits.
 */
import { randomUUID } from 'node:crypto';
import { bodyFor, type Notification, type NotifyConfig, signature } from '../core/notify.js';
import type { MaintenanceLogger } from '../store/state-store.js';

/** Delays before the second and third attempts, in milliseconds. */
export const NOTIFY_RETRY_DELAYS_MS: readonly number[] = Object.freeze([1000, 4000]);
/** Bound of one attempt, in milliseconds. */
export const NOTIFY_ATTEMPT_TIMEOUT_MS = 5000;

/** A delivery that failed for good. */
export interface NotifyFailure {
  readonly event: Notification['event'];
  /** The webhook's origin (never its path, query or credentials). */
  readonly url: string;
  readonly error: string;
  readonly attempts: number;
}

/** The notifier of one service. */
export interface Notifier {
  /** Whether any webhook is configured. */
  readonly enabled: boolean;
  /** The reminder offsets (ms before a start) some webhook wants. */
  readonly remindOffsets: readonly number[];
  /** Posts `n` to every webhook that wants it, in the background. */
  send(n: Notification): void;
  /** Resolves when every delivery on its way has ended, or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
}

/** Settings of {@link createNotifier}. */
export interface NotifierSettings {
  readonly targets: readonly NotifyConfig[];
  readonly logger: MaintenanceLogger;
  readonly userAgent: string;
  readonly onFailure: (failure: NotifyFailure) => void;
  readonly onDelivered: (n: Notification, url: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** One POST; throws with what went wrong. */
async function attempt(target: NotifyConfig, body: string, headers: Record<string, string>): Promise<void> {
  const sentAt = Math.floor(Date.now() / 1000);
  const signed: Record<string, string> = target.secret
    ? { 'X-Maintenance-Signature': signature(target.secret, sentAt, body) }
    : {};
  if (target.authorization) signed.Authorization = target.authorization;
  const res = await fetch(target.url, {
    method: 'POST',
    headers: { ...headers, ...signed },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(NOTIFY_ATTEMPT_TIMEOUT_MS),
  });
  await res.body?.cancel().catch(() => undefined);
  if (res.status >= 300 && res.status < 400) throw new Error(`answered ${res.status}, a redirect (not followed)`);
  if (!res.ok) throw new Error(`answered ${res.status}`);
}

/** What a failed attempt says, without the URL (fetch errors may carry it). */
const reason = (err: unknown, target: NotifyConfig): string => {
  const e = err as Error & { cause?: { code?: string } };
  const text = e.name === 'TimeoutError' ? `no answer within ${NOTIFY_ATTEMPT_TIMEOUT_MS} ms` : e.message;
  const detail = e.cause?.code ? `${text} (${e.cause.code})` : text;
  return detail.split(target.url).join(target.shown);
};

/** Builds the notifier of one service. */
export function createNotifier(s: NotifierSettings): Notifier {
  const pending = new Set<Promise<void>>();
  const deliver = async (target: NotifyConfig, n: Notification) => {
    const body = bodyFor(target, n);
    const headers = {
      'Content-Type': 'application/json',
      'User-Agent': s.userAgent,
      'X-Maintenance-Event': n.event,
      'X-Maintenance-Delivery': randomUUID(), // the same on every attempt: receivers can drop a repeat
    };
    let last = '';
    for (let i = 0; i <= NOTIFY_RETRY_DELAYS_MS.length; i++) {
      if (i > 0) await sleep(NOTIFY_RETRY_DELAYS_MS[i - 1]);
      try {
        await attempt(target, body, headers);
        s.onDelivered(n, target.shown);
        return;
      } catch (err) {
        last = reason(err, target);
      }
    }
    const attempts = NOTIFY_RETRY_DELAYS_MS.length + 1;
    s.logger.warn(
      `koa-maintenance-mode: the "${n.event}" notification to ${target.shown} failed after ${attempts} attempts: ${last}`,
    );
    s.onFailure({ event: n.event, url: target.shown, error: last, attempts });
  };
  const remindOffsets = [...new Set(s.targets.flatMap((t) => (t.events.has('reminder') ? t.remindBeforeMs : [])))];
  return {
    enabled: s.targets.length > 0,
    remindOffsets,
    send(n) {
      for (const target of s.targets) {
        if (!target.events.has(n.event)) continue;
        if (n.event === 'reminder' && !target.remindBeforeMs.includes(n.beforeMs ?? -1)) continue;
        const p = deliver(target, n).finally(() => pending.delete(p));
        pending.add(p);
      }
    },
    async flush(timeoutMs) {
      if (pending.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      await Promise.race([Promise.allSettled([...pending]).then(() => undefined), bound]);
      clearTimeout(timer);
    },
  };
}
