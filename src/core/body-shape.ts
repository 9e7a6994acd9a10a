/**
 * The shape a request body may have before anything copies or converts it: nested at most {@link MAX_BODY_DEPTH}
 * levels (class-transformer recurses without a bound: 5,000 nested arrays overflow the stack) and no key that reaches
 * an object's prototype, at any level. Pure.
 */
import { MaintenanceError } from './errors.js';

/**
 * How deep a request body may nest (the body itself is level 1). The deepest field any body has is
 * `message: { "<language>": text }`, level 2; 32 leaves room for an app's own fields and stays far from the stack.
 */
export const MAX_BODY_DEPTH = 32;

/** Keys that reach an object's prototype when a body is copied, merged or converted. */
export const PROTOTYPE_KEYS: readonly string[] = Object.freeze(['__proto__', 'constructor', 'prototype']);

/** One bad part of a body: the field (a path such as `message.constructor` or `tags[0]`) and what to do. */
export interface ShapeProblem {
  readonly field: string;
  readonly detail: string;
}

/** At most this many problems are told (a body of a thousand bad keys gets ten). */
const MAX_PROBLEMS = 10;

/** The path of `key` inside the value at `path`. */
const pathOf = (path: string, key: string, inArray: boolean) =>
  inArray ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

/** The field a path starts with: `message` of `message[0][0]`. */
const topField = (path: string) => /^[^.[]+|^\[\d+\]/.exec(path)?.[0] ?? path;

/** The problems of a body's shape, each naming its field; empty when it is fine. Walks at most MAX_BODY_DEPTH deep. */
export function bodyShapeProblems(body: unknown): ShapeProblem[] {
  const problems: ShapeProblem[] = [];
  const tooDeep = new Set<string>();
  const visit = (value: unknown, path: string, depth: number): void => {
    if (problems.length >= MAX_PROBLEMS || typeof value !== 'object' || value === null) return;
    if (depth > MAX_BODY_DEPTH) {
      const field = topField(path);
      if (tooDeep.has(field)) return;
      tooDeep.add(field);
      const detail = `${field} is nested more than ${MAX_BODY_DEPTH} levels deep; send it as a text or a flat object`;
      problems.push({ field, detail });
      return;
    }
    const inArray = Array.isArray(value);
    for (const key of Object.keys(value)) {
      const at = pathOf(path, key, inArray);
      if (PROTOTYPE_KEYS.includes(key)) {
        // At the top a body's fields are known, so it is simply not one (as the DTOs say of any unknown field).
        const why =
          path === '' ? 'is not a field of this body' : `is not allowed ("${key}" reaches a prototype); remove it`;
        problems.push({ field: at, detail: `${at} ${why}` });
      } else visit((value as Record<string, unknown>)[key], at, depth + 1);
      if (problems.length >= MAX_PROBLEMS) return;
    }
  };
  visit(body, '', 1);
  return problems;
}

/** Throws `ERR_MAINTENANCE_INVALID_OPTION` naming the first bad field of `body`'s shape, if it has one. */
export function checkBodyShape(body: unknown): void {
  const [first] = bodyShapeProblems(body);
  if (first) throw new MaintenanceError('ERR_MAINTENANCE_INVALID_OPTION', first.detail);
}
