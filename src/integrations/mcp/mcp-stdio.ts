/**
 * The Model Context Protocol over stdio, on `@modelcontextprotocol/sdk` (the only file importing it, and only when a
 * server starts: the package and the other CLI commands never load it). The SDK's low-level `Server` is used because
 * the tools' input schemas are JSON Schemas generated from the control API's DTO classes, not zod schemas; this file
 * only lists the tools and hands each call to `tools.ts`.
 */
import type { Readable, Writable } from 'node:stream';
import type * as ServerModule from '@modelcontextprotocol/sdk/server/index.js';
import type * as StdioModule from '@modelcontextprotocol/sdk/server/stdio.js';
import type * as TypesModule from '@modelcontextprotocol/sdk/types.js';
import type { ToolAnswer, ToolListing } from './tools.js';

/** A server to run: who it is, what it tells the model, its tools, and the streams it speaks over. */
export interface McpStdioServer {
  readonly name: string;
  readonly version: string;
  /** What the host may show the model about the server and how to use it. */
  readonly instructions: string;
  readonly tools: readonly ToolListing[];
  /** Answers one tool call (errors included, as results). */
  readonly call: (name: string, args: unknown, signal: AbortSignal) => Promise<ToolAnswer>;
  /** Where requests come from. @default process.stdin */
  readonly stdin?: Readable;
  /** Where answers go (nothing else may write there). @default process.stdout */
  readonly stdout?: Writable;
  /** Ends the server (a signal to the process). */
  readonly stop?: AbortSignal;
}

/**
 * Serves `server` over stdio until the client closes the connection (stdin ends) or `stop` is aborted; calls in
 * progress are cancelled then.
 */
export async function serveMcpOverStdio(server: McpStdioServer): Promise<void> {
  const { Server } = require('@modelcontextprotocol/sdk/server/index.js') as typeof ServerModule;
  const { StdioServerTransport } = require('@modelcontextprotocol/sdk/server/stdio.js') as typeof StdioModule;
  const { CallToolRequestSchema, ListToolsRequestSchema } =
    require('@modelcontextprotocol/sdk/types.js') as typeof TypesModule;
  const stdin = server.stdin ?? process.stdin;
  const mcp = new Server(
    { name: server.name, version: server.version },
    { capabilities: { tools: {} }, instructions: server.instructions },
  );
  mcp.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: server.tools.map((t) => ({ ...t })) }));
  mcp.setRequestHandler(CallToolRequestSchema, async (request, extra) => ({
    ...(await server.call(request.params.name, request.params.arguments ?? {}, extra.signal)),
  }));
  const closed = new Promise<void>((resolve) => {
    mcp.onclose = resolve;
  });
  const close = () => void mcp.close();
  stdin.once('end', close);
  server.stop?.addEventListener('abort', close, { once: true });
  try {
    await mcp.connect(new StdioServerTransport(stdin, server.stdout ?? process.stdout));
    if (server.stop?.aborted) close();
    await closed;
  } finally {
    stdin.off('end', close);
    server.stop?.removeEventListener('abort', close);
  }
}
