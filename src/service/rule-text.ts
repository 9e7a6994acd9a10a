/** A window's rule as people read it (rrule-temporal's toText), in their language where it has it. */
import { toText } from 'rrule-temporal/totext';
import type { RecurringWindow } from '../core/windows.js';
import { ruleInZone } from './recurrence-rule.js';

/** The languages rule descriptions come in. */
export const RULE_TEXT_LANGUAGES: readonly string[] = ['en', 'de', 'es', 'fr', 'zh', 'hi', 'ar', 'he'];
const texts = new Map<string, string>();

/**
 * A window's rule as people read it, in `language` (one of {@link RULE_TEXT_LANGUAGES}, else English), with its zone:
 * "every month on the last day of the month at 10 PM America/New_York". The raw rule when it cannot be described.
 */
export function describeRule(window: RecurringWindow, language = 'en'): string {
  const key = `${language}\u0000${window.tz}\u0000${window.start}\u0000${window.rrule}`;
  let text = texts.get(key);
  if (text === undefined) {
    try {
      const lang = RULE_TEXT_LANGUAGES.includes(language) ? language : 'en';
      text = `${toText(ruleInZone(window), lang, { excludeTzAbbreviation: true })} ${window.tz}`;
    } catch {
      text = window.rrule;
    }
    if (texts.size >= 1000) texts.clear();
    texts.set(key, text);
  }
  return text;
}
