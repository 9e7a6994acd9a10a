/**
 * Reading a JSON body for the control API (the only file importing class-transformer): bounded in size, JSON only,
 * an object only, turned into its DTO class and validated. A body parsed already by the app (koa-bodyparser,
 * routing-controllers) is used as it is.
 */
import type * as ClassTransformer from 'class-transformer';
import type { ParameterizedContext } from 'koa';
import { bodyShapeProblems } from '../../core/body-shape.js';
import { loadPeer } from '../../core/peer.js';
import { checkBody, type FieldProblem } from './dto.js';

/** Why a body was refused: the status, the problem code, what to say, and the bad fields. */
export interface BodyProblem {
  readonly status: 400 | 413 | 415;
  readonly code: string;
  readonly detail: string;
  readonly errors?: readonly FieldProblem[];
}

/** The outcome of reading a body. */
export type BodyResult<T> =
  | { readonly ok: true; readonly body: T }
  | { readonly ok: false; readonly problem: BodyProblem };

const tooLarge = (limit: number): BodyProblem => ({
  status: 413,
  code: 'body_too_large',
  detail: `The body is larger than ${limit} bytes.`,
});

/** The raw body, at most `limit` bytes (stops reading beyond it). */
async function rawBody(ctx: ParameterizedContext, limit: number): Promise<string | BodyProblem> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > limit) return tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      ctx.set('Connection', 'close'); // the rest is not read
      return tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The parsed JSON of the request (an app's body parser may have read it already). */
async function jsonOf(ctx: ParameterizedContext, limit: number): Promise<{ value: unknown } | BodyProblem> {
  const parsed = (ctx.request as { body?: unknown }).body;
  if (parsed !== undefined) return { value: parsed };
  const raw = await rawBody(ctx, limit);
  if (typeof raw !== 'string') return raw;
  if (raw.trim() === '') return { value: {} };
  if (!ctx.is('application/json', 'application/*+json')) {
    return {
      status: 415,
      code: 'unsupported_media_type',
      detail: 'The body must be JSON (Content-Type: application/json).',
    };
  }
  try {
    return { value: JSON.parse(raw) };
  } catch (err) {
    return { status: 400, code: 'invalid_json', detail: `The body is not valid JSON: ${(err as Error).message}` };
  }
}

/** A 400 naming the bad fields. */
const badFields = (errors: readonly FieldProblem[]): BodyProblem => ({
  status: 400,
  code: 'invalid_body',
  detail: `The body has bad fields: ${errors.map((e) => e.field).join(', ')}.`,
  errors,
});

/**
 * Reads, converts and validates the body as an instance of `cls` (see {@link checkedBody}): a JSON object of at most
 * `limit` bytes.
 */
export async function readBody<T extends object>(
  ctx: ParameterizedContext,
  cls: new () => T,
  limit: number,
): Promise<BodyResult<T>> {
  const json = await jsonOf(ctx, limit);
  if ('status' in json) return { ok: false, problem: json };
  return checkedBody(json.value, cls);
}

/**
 * Converts and validates a parsed JSON value as an instance of `cls` — a request body, or an MCP tool's arguments. Its
 * shape is checked first (depth, prototype keys at any level), so nothing converts a value that could overflow the
 * stack or reach a prototype: that is a 400, not a 500. Every bad field is named in one answer.
 */
export async function checkedBody<T extends object>(value: unknown, cls: new () => T): Promise<BodyResult<T>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: { status: 400, code: 'invalid_body', detail: 'The body must be a JSON object.' } };
  }
  const shape = bodyShapeProblems(value);
  if (shape.length > 0) return { ok: false, problem: badFields(shape) };
  const { plainToInstance } = loadPeer(
    () => require('class-transformer') as typeof ClassTransformer, // loaded on first use
    'class-transformer',
    'The control API (maintenanceApi())',
  );
  const instance = plainToInstance(cls, value);
  const errors = await checkBody(instance);
  if (errors.length === 0) return { ok: true, body: instance };
  // A body with wrong types may be wrong beyond them too: name every bad field in one answer.
  const beyond = (cls as { problemsBeyondTypes?: (v: Record<string, unknown>) => FieldProblem[] }).problemsBeyondTypes;
  const more = (beyond?.(value as Record<string, unknown>) ?? []).filter(
    (p) => !errors.some((e) => e.field === p.field),
  );
  return { ok: false, problem: badFields([...errors, ...more]) };
}
