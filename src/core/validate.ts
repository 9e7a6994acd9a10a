/** Option validation shared by every resolver: the standard error (what, value, fix) and the unknown-key check. Pure. */
import { MaintenanceError } from './errors.js';
import { unknownKeyMessage } from './suggest.js';

/** Throws the standard invalid-option error: what, the value received, the fix. */
export function invalidOption(name: string, expected: string, value: unknown): never {
  throw new MaintenanceError('ERR_MAINTENANCE_INVALID_OPTION', `${name} ${expected}; received ${show(value)}.`);
}

function show(value: unknown): string {
  if (value instanceof RegExp) return value.toString();
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The entries of an options object that are set (`undefined` means "use the default"), after checking that each key
 * is known; an unknown key throws with the nearest known name (`what` names the options in the message).
 */
export function knownEntries(input: object, known: readonly string[], what: string): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (!known.includes(k))
      throw new MaintenanceError('ERR_MAINTENANCE_INVALID_OPTION', unknownKeyMessage(what, k, known));
    o[k] = v;
  }
  return o;
}

/**
 * `true` when `Names` lists every key of `Options`: `const check: NamesEveryKey<O, typeof LIST> = true` stops the
 * compile when an option is added to the interface but not to its list (a list entry the interface lacks is caught by
 * `satisfies readonly (keyof O)[]` on the list itself).
 */
export type NamesEveryKey<Options, Names extends readonly PropertyKey[]> = [
  Exclude<keyof Options, Names[number]>,
] extends [never]
  ? true
  : false;

/** The keys of `O` whose value (when set) is of type `T`: `KeysOfType<MaintenanceOptions, boolean>`. */
export type KeysOfType<O, T> = { [K in keyof O]-?: NonNullable<O[K]> extends T ? K : never }[keyof O];
