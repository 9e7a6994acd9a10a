/** RFC 9457 problem documents: every error of the control API is one (`application/problem+json`). */
import type { ParameterizedContext } from 'koa';
import { neverCache } from '../respond.js';

/** Titles by status. */
const TITLES: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
});

/** The `type` URI of a problem `code` (e.g. `invalid_body`). */
export const problemType = (code: string) => `urn:koa-maintenance-mode:problem:${code}`;

/** One problem to answer: its HTTP status, its `code` (the end of its `type` URI), what went wrong, and extra members. */
export interface Problem {
  readonly status: number;
  /** e.g. `invalid_body`: the `type` is `urn:koa-maintenance-mode:problem:<code>`. */
  readonly code: string;
  readonly detail: string;
  /** Extension members (e.g. `errors`). @default {} */
  readonly extra?: Record<string, unknown>;
}

/** Answers with a problem document: `type`, `title`, `status`, `detail`, plus `extra` members (e.g. `errors`). */
export function answerProblem(ctx: ParameterizedContext, problem: Problem): void {
  const { status, code, detail, extra = {} } = problem;
  ctx.status = status;
  neverCache(ctx);
  ctx.body = { type: problemType(code), title: TITLES[status] ?? 'Error', status, detail, ...extra };
  ctx.type = 'application/problem+json; charset=utf-8';
}
