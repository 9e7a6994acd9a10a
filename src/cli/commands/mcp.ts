/**
 * `mcp`: a Model Context Protocol server over stdio for agents, acting with the token in `MAINTENANCE_MODE_TOKEN`
 * (its permissions and scope, as the control API; history `by: mcp:<label>`). A missing or invalid token: the server
 * does not start (one line on stderr, exit 1). A token revoked or expired while it runs: every call from then on is
 * answered `unauthorized`. It serves until the client closes stdin, or SIGINT/SIGTERM.
 */
import type { Readable, Writable } from 'node:stream';
import { serveMcpOverStdio } from '../../integrations/mcp/mcp-stdio.js';
import { createToolCaller, TOOL_NAMES, toolListings } from '../../integrations/mcp/tools.js';
import { packageVersion } from '../../service/package-version.js';
import type { MaintenanceService } from '../../service/service.js';
import type { Parsed } from '../args.js';
import { type CliIo, EXIT } from '../io.js';

/** The environment variable holding the token the server acts with. */
export const MCP_TOKEN_VARIABLE = 'MAINTENANCE_MODE_TOKEN';

/** What the server tells the model about itself and the token it acts with. */
function instructions(token: { label: string; allow: readonly string[]; scope?: string }): string {
  return (
    'Maintenance mode of a Koa app (koa-maintenance-mode): read the state with maintenance_status, switch it with ' +
    'maintenance_on / maintenance_off, plan recurring windows, and wait until every instance applied a switch. The ' +
    'write tools change nothing without "confirm": true and answer what they would change: call them so first, show ' +
    `the user, and confirm only once they agree. This server acts as mcp:${token.label}; its token allows ` +
    `${token.allow.join(', ')}${token.scope === undefined ? '' : ` on the scope "${token.scope}" only`}.`
  );
}

/** Serves the MCP tools over this process's stdin and stdout until the client leaves; exit 0. */
export async function mcp(_p: Parsed, service: MaintenanceService, io: CliIo): Promise<number> {
  const token = io.env[MCP_TOKEN_VARIABLE]?.trim();
  if (!token) {
    throw new Error(
      `maintenance-mode mcp needs a token in ${MCP_TOKEN_VARIABLE}: make one with \`maintenance-mode token create --label agent --allow read\` (add on,off,windows to let the agent switch).`,
    );
  }
  const info = await service.authenticateToken(token);
  if (!info) {
    throw new Error(
      `The token in ${MCP_TOKEN_VARIABLE} is not valid for ${service.storeDescription}: it is unknown, expired or revoked (\`maintenance-mode token list\` shows this store's tokens).`,
    );
  }
  if (!io.stdin) throw new Error('maintenance-mode mcp speaks over stdin and stdout, and has no stdin here.');
  const stop = new AbortController();
  let reason = 'the client closed the connection';
  const end = (signal: NodeJS.Signals) => {
    reason = signal;
    stop.abort();
  };
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const signal of signals) process.once(signal, end);
  io.stderr.write(
    `maintenance-mode mcp: ${TOOL_NAMES.length} tools over stdio as mcp:${info.label} (allows ${info.allow.join(', ')}${info.scope === undefined ? '' : `, scope ${info.scope}`}) on ${service.storeDescription}\n`,
  );
  try {
    await serveMcpOverStdio({
      name: 'koa-maintenance-mode',
      version: packageVersion(),
      instructions: instructions(info),
      tools: toolListings(),
      call: createToolCaller({ service, token, log: (line) => io.stderr.write(`${line}\n`) }),
      stdin: io.stdin as Readable,
      stdout: io.stdout as Writable,
      stop: stop.signal,
    });
  } finally {
    for (const signal of signals) process.off(signal, end);
  }
  io.stderr.write(`maintenance-mode mcp: stopped (${reason}).\n`);
  return EXIT.ok;
}
