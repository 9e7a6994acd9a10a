/**
 * The control API's routes, in one table that both the router (`routes.ts`) and the OpenAPI document (`openapi.ts`)
 * are built from, so no route can be served without being documented.
 */
import type { TokenPermission } from '../../core/tokens.js';
import { MaintenanceOffBody, MaintenanceOnBody, WaitBody, WindowBody } from './dto.js';

/** The handlers of the API, by name. */
export type ApiHandlerName =
  | 'state'
  | 'on'
  | 'off'
  | 'windows'
  | 'addWindow'
  | 'removeWindow'
  | 'history'
  | 'fleet'
  | 'wait'
  | 'openapi';

/** One route of the API. */
export interface ApiRoute {
  readonly method: 'get' | 'post' | 'delete';
  /** Path below the prefix, in @koa/router syntax (`/windows/:id`). */
  readonly path: string;
  readonly handler: ApiHandlerName;
  /** What a token needs; undefined: public (the OpenAPI document). */
  readonly permission?: TokenPermission;
  /** The DTO class of its JSON body, if it takes one. */
  readonly body?: new () => object;
  readonly summary: string;
  /** Status of a success. */
  readonly success: 200 | 201 | 204;
  /** It holds the request open while it waits: bounded per token and per instance (429 past the bounds). */
  readonly waits?: true;
}

/** Every route of the API. */
export const API_ROUTES: readonly ApiRoute[] = Object.freeze([
  {
    method: 'get',
    path: '/state',
    handler: 'state',
    permission: 'read',
    success: 200,
    summary: 'The state: global fields, scopes, windows and fleet',
  },
  {
    method: 'post',
    path: '/on',
    handler: 'on',
    permission: 'on',
    body: MaintenanceOnBody,
    success: 200,
    summary: 'Switch maintenance on (now, or for a window)',
  },
  {
    method: 'post',
    path: '/off',
    handler: 'off',
    permission: 'off',
    body: MaintenanceOffBody,
    success: 200,
    summary: 'Switch maintenance off',
  },
  {
    method: 'get',
    path: '/windows',
    handler: 'windows',
    permission: 'read',
    success: 200,
    summary: 'The recurring windows and their next occurrences',
  },
  {
    method: 'post',
    path: '/windows',
    handler: 'addWindow',
    permission: 'windows',
    body: WindowBody,
    success: 201,
    summary: 'Add a recurring window',
  },
  {
    method: 'delete',
    path: '/windows/:id',
    handler: 'removeWindow',
    permission: 'windows',
    success: 204,
    summary: 'Remove a recurring window',
  },
  {
    method: 'get',
    path: '/history',
    handler: 'history',
    permission: 'read',
    success: 200,
    summary: 'The newest changes, newest first (?limit=1..200, default 50)',
  },
  {
    method: 'get',
    path: '/fleet',
    handler: 'fleet',
    permission: 'read',
    success: 200,
    summary: 'The instances serving this store and what each has applied',
  },
  {
    method: 'post',
    path: '/wait',
    handler: 'wait',
    permission: 'read',
    body: WaitBody,
    success: 200,
    waits: true,
    summary: 'Wait until every instance applied the state (and drained)',
  },
  { method: 'get', path: '/openapi.json', handler: 'openapi', success: 200, summary: 'This document (OpenAPI 3.1)' },
] satisfies ApiRoute[]);
