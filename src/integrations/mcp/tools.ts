/**
 * The MCP server's tools: one table of names, descriptions, permissions and argument classes, and the call of a tool.
 * A call checks the token as the control API checks a request (against the store, every time: a revoked token is
 * refused from its next call), then the permission, then the arguments (the control API's DTO classes and their
 * rules), and runs the control API's action (`koa/api/actions.ts`, the service's one switch path). A write tool without
 * `confirm: true` runs the action as a preview: nothing changes, and the answer says what would. Errors are tool
 * results with a clear message (never a stack). No outside package: `mcp-stdio.ts` speaks the protocol.
 */
import type { TokenInfo, TokenPermission } from '../../core/tokens.js';
import {
  type ActionCall,
  addWindowAs,
  fleetOf,
  historyOf,
  type Outcome,
  problemOf,
  readState,
  removeWindowAs,
  switchOffAs,
  switchOnAs,
  upcomingOf,
  waitFor,
} from '../../koa/api/actions.js';
import { type Caller, permissionProblem } from '../../koa/api/auth.js';
import { checkedBody } from '../../koa/api/body.js';
import {
  ConfirmedOffBody,
  ConfirmedOnBody,
  ConfirmedWindowBody,
  ConfirmedWindowRef,
  HistoryQuery,
  ScopeQuery,
  UpcomingQuery,
  WaitBody,
} from '../../koa/api/dto.js';
import { dtoSchema } from '../../koa/api/openapi.js';
import { API_DEFAULTS } from '../../koa/api/options.js';
import type { Problem } from '../../koa/api/problem.js';
import { createWaitSlots, type WaitSlots } from '../../koa/api/wait-slots.js';
import type { MaintenanceService } from '../../service/service.js';

/** What a tool's action gets: the control API's action call, and for a wait its bounds and its cancel signal. */
type ToolCall = ActionCall<never> & { readonly waits: WaitSlots; readonly signal?: AbortSignal };

/** One tool. */
interface McpTool {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** What the token must allow (§8.3's permissions). */
  readonly permission: TokenPermission;
  /** The DTO class its arguments are checked as, and its input schema is generated from. */
  readonly input: new () => object;
  /** A write: without `confirm: true` it only says what it would change. */
  readonly write?: 'destructive' | 'additive';
  readonly run: (call: ToolCall) => Promise<Outcome>;
}

const CONFIRM_NOTE =
  'Without "confirm": true it changes nothing and answers what it would change: call it so first, show that to the ' +
  'user, and call it again with the same arguments and "confirm": true only once they agree.';

/** Every tool of the server, in the order a host lists them. */
const TOOLS: readonly McpTool[] = [
  {
    name: 'maintenance_status',
    title: 'Maintenance status',
    description:
      'Read the maintenance state of the site (or of one scope): whether it is on, its window (start, end), message, ' +
      'read-only or dry run, who switched it and when, every scope in maintenance, the recurring windows with their ' +
      'next occurrences, and a summary of the instances serving it.',
    permission: 'read',
    input: ScopeQuery,
    run: readState,
  },
  {
    name: 'maintenance_fleet',
    title: 'Instances serving the site',
    description:
      'List the app instances serving the store: for each, its host and pid, the state revision it applied, the ' +
      'requests it still runs from before maintenance (inFlight) and holds, and whether it stopped reporting (stale).',
    permission: 'read',
    input: ScopeQuery,
    run: fleetOf,
  },
  {
    name: 'maintenance_upcoming',
    title: 'Upcoming maintenance windows',
    description:
      'List the next occurrences of the recurring maintenance windows, in time order (an occurrence in progress first).',
    permission: 'read',
    input: UpcomingQuery,
    run: upcomingOf,
  },
  {
    name: 'maintenance_history',
    title: 'Maintenance history',
    description:
      'List the newest changes of the maintenance state, newest first: when, by whom (mcp:<label> for this server), ' +
      'through what, from and to which state.',
    permission: 'read',
    input: HistoryQuery,
    run: historyOf,
  },
  {
    name: 'maintenance_on',
    title: 'Switch maintenance on',
    description:
      'Switch maintenance on for the whole site or one scope: visitors get the maintenance page (503), now or for the ' +
      'window [start, end) (ISO-8601 instants), with a message; readOnly blocks only writes; dryRun rehearses and ' +
      `blocks nothing. While on, the fields given edit the window. ${CONFIRM_NOTE}`,
    permission: 'on',
    input: ConfirmedOnBody,
    write: 'destructive',
    run: switchOnAs,
  },
  {
    name: 'maintenance_off',
    title: 'Switch maintenance off',
    description: `Switch maintenance off for the whole site or one scope (a recurring window's occurrence in progress ends; the window recurs). ${CONFIRM_NOTE}`,
    permission: 'off',
    input: ConfirmedOffBody,
    write: 'destructive',
    run: switchOffAs,
  },
  {
    name: 'maintenance_window_add',
    title: 'Add a recurring window',
    description:
      'Add a recurring maintenance window: an RFC 5545 rule (e.g. "FREQ=WEEKLY;BYDAY=SU") in an IANA time zone, the ' +
      'first start as local time YYYY-MM-DDTHH:MM, and the minutes each occurrence lasts. Each occurrence puts the ' +
      `site (or the scope) in maintenance by itself. ${CONFIRM_NOTE}`,
    permission: 'windows',
    input: ConfirmedWindowBody,
    write: 'additive',
    run: addWindowAs,
  },
  {
    name: 'maintenance_window_remove',
    title: 'Remove a recurring window',
    description: `Remove a recurring maintenance window by its id (an occurrence in progress ends). ${CONFIRM_NOTE}`,
    permission: 'windows',
    input: ConfirmedWindowRef,
    write: 'destructive',
    run: removeWindowAs,
  },
  {
    name: 'maintenance_wait',
    title: 'Wait for every instance',
    description:
      'Wait until every instance applied the current state and (drained, default true) finished the requests it let ' +
      'in before: answers the fleet, or an error naming the instances behind after timeoutMs (default 30000; keep it ' +
      "below your client's request timeout).",
    permission: 'read',
    input: WaitBody,
    run: waitFor,
  },
];

/** A tool as `tools/list` describes it (the MCP `Tool` shape). */
export interface ToolListing {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: { readonly type: 'object'; readonly [key: string]: unknown };
  readonly annotations: Readonly<Record<string, string | boolean>>;
}

/** What a tool call answers (the MCP `CallToolResult` shape): text for the model, the JSON, and whether it failed. */
export interface ToolAnswer {
  readonly content: Array<{ readonly type: 'text'; readonly text: string }>;
  readonly structuredContent: Record<string, unknown>;
  readonly isError: boolean;
}

/** The input schema of a tool: its DTO's schema, `confirm` described. */
function schemaOf(tool: McpTool): ToolListing['inputSchema'] {
  const schema = dtoSchema(tool.input) as { properties?: Record<string, Record<string, unknown>> };
  const confirm = schema.properties?.confirm;
  if (confirm) confirm.description = 'true to do it; otherwise nothing changes and the answer says what would';
  return { ...schema, type: 'object' };
}

/** Every tool as `tools/list` answers it. */
export function toolListings(): ToolListing[] {
  return TOOLS.map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: schemaOf(tool),
    annotations: {
      title: tool.title,
      readOnlyHint: tool.write === undefined,
      destructiveHint: tool.write === 'destructive',
      idempotentHint: tool.write !== 'additive',
      openWorldHint: false,
    },
  }));
}

/** A failed call: one line for the model (the problem's detail, then each bad field), and the problem as JSON. */
function failed(problem: Problem): ToolAnswer {
  const errors = (problem.extra?.errors ?? []) as Array<{ field: string; detail: string }>;
  const lines = [`${problem.code}: ${problem.detail}`, ...errors.map((e) => `- ${e.field}: ${e.detail}`)];
  return {
    content: [{ type: 'text', text: lines.join('\n') }],
    structuredContent: { error: problem.code, status: problem.status, detail: problem.detail, ...problem.extra },
    isError: true,
  };
}

/** A call that worked: the JSON, after the sentence a preview says (nothing changed, and how to do it). */
function answered(tool: McpTool, value: Record<string, unknown>): ToolAnswer {
  const json = JSON.stringify(value, null, 2);
  const text =
    value.confirmed === false
      ? `${value.summary} Nothing changed: to do it, call ${tool.name} again with the same arguments and "confirm": true.\n${json}`
      : json;
  return { content: [{ type: 'text', text }], structuredContent: value, isError: false };
}

/** Arguments that break the tool's rules: every bad field named, as the control API names them. */
const invalidArguments = (tool: McpTool, problem: Problem & { errors?: unknown }): ToolAnswer =>
  failed({
    status: 400,
    code: 'invalid_arguments',
    detail: `The arguments of ${tool.name} are not valid (its inputSchema says what it takes).`,
    extra: { errors: problem.errors ?? [{ field: '', detail: problem.detail }] },
  });

/** What the tools need: the service, the token (checked on every call), where to log a failure, and the wait bounds. */
export interface ToolContext {
  readonly service: MaintenanceService;
  /** The token from MAINTENANCE_MODE_TOKEN. */
  readonly token: string;
  /** Writes one line to the server's log (stderr): an unexpected failure, whose detail a tool result never carries. */
  readonly log: (line: string) => void;
  /** The bounds of open waits, as the control API's defaults. @default maxWaitsPerToken 4, maxWaits 64 */
  readonly waits?: WaitSlots;
}

/** The caller a token is: `mcp:<label>` in the history. */
const callerOf = (token: TokenInfo): Caller => ({ token, by: `mcp:${token.label}` });

/** Checks the token and the permission, then the arguments, then runs the tool (see the module comment). */
async function run(ctx: ToolContext & { waits: WaitSlots }, tool: McpTool, args: unknown, signal?: AbortSignal) {
  const token = await ctx.service.authenticateToken(ctx.token);
  if (!token) {
    const detail = 'The token in MAINTENANCE_MODE_TOKEN is not valid any more: it is unknown, expired or revoked.';
    return failed({ status: 401, code: 'unauthorized', detail });
  }
  const caller = callerOf(token);
  const denied = permissionProblem(caller, tool.permission);
  if (denied) return failed(denied);
  const checked = await checkedBody(args ?? {}, tool.input);
  if (!checked.ok) return invalidArguments(tool, checked.problem);
  const { confirm, ...body } = checked.body as { confirm?: boolean };
  const preview = tool.write !== undefined && confirm !== true;
  const call = { caller, s: ctx.service, body: body as never, source: 'mcp', preview, waits: ctx.waits, signal };
  const outcome = await tool.run(call);
  return outcome.ok ? answered(tool, outcome.value) : failed(outcome.problem);
}

/** The tools over one service and one token: `call(name, args, signal)` answers every call, errors included. */
export function createToolCaller(context: ToolContext) {
  const ctx = {
    ...context,
    waits: context.waits ?? createWaitSlots({ perCaller: API_DEFAULTS.maxWaitsPerToken, total: API_DEFAULTS.maxWaits }),
  };
  return async function call(name: string, args: unknown, signal?: AbortSignal): Promise<ToolAnswer> {
    const tool = TOOLS.find((t) => t.name === name);
    if (!tool) {
      const detail = `No tool is named ${JSON.stringify(name)}; the tools are ${TOOLS.map((t) => t.name).join(', ')}.`;
      return failed({ status: 404, code: 'unknown_tool', detail });
    }
    try {
      return await run(ctx, tool, args, signal);
    } catch (err) {
      const problem = problemOf(err);
      if (problem) return failed(problem);
      ctx.log(
        `maintenance-mode mcp: ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      return failed({
        status: 500,
        code: 'internal',
        detail: `${name} failed on the server; its log (stderr) says why.`,
      });
    }
  };
}

/** The names of the tools (for the server's instructions and the CLI's line). */
export const TOOL_NAMES: readonly string[] = TOOLS.map((t) => t.name);
