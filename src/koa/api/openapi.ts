/**
 * The control API's OpenAPI 3.1 document, generated from the route table and the class-validator DTOs (the only file
 * importing class-validator-jsonschema): the bodies are described once, by the classes that validate them.
 */
import type * as JsonSchema from 'class-validator-jsonschema';
import { MESSAGE_MAX_LENGTH } from '../../core/state.js';
import { defineDtoRules, MESSAGE_VALIDATOR } from './dto.js';
import { API_ROUTES } from './spec.js';

/** JSON Schema of a message: one text, or one per language. */
const MESSAGE_SCHEMA: { oneOf: Array<Record<string, unknown>> } = {
  oneOf: [
    { type: 'string', maxLength: MESSAGE_MAX_LENGTH },
    { type: 'object', additionalProperties: { type: 'string', maxLength: MESSAGE_MAX_LENGTH }, minProperties: 1 },
  ],
};

/** RFC 9457 problem document, with the bad fields of a 400. */
const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'detail'],
        properties: { field: { type: 'string' }, detail: { type: 'string' } },
      },
    },
  },
};

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/**
 * The JSON Schema of a DTO class, generated from its class-validator rules (inherited ones included): what the OpenAPI
 * document says of a body, and what the MCP server lists as a tool's input. Unknown fields are refused.
 */
export function dtoSchema(cls: new () => object): Record<string, unknown> {
  defineDtoRules();
  const { targetConstructorToSchema } = require('class-validator-jsonschema') as typeof JsonSchema; // on first use
  return {
    ...targetConstructorToSchema(cls, { additionalConverters: { [MESSAGE_VALIDATOR]: MESSAGE_SCHEMA as never } }),
    additionalProperties: false,
  };
}

/** The document for an API mounted at `prefix`. */
export function openApiDocument(prefix: string, version: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = { Problem: PROBLEM_SCHEMA };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_ROUTES) {
    const path = `${prefix}${route.path.replace(/:(\w+)/g, '{$1}')}`;
    const op: Record<string, unknown> = {
      operationId: route.handler,
      summary: route.summary,
      ...(route.permission ? { security: [{ bearer: [] }], 'x-permission': route.permission } : { security: [] }),
      responses: {
        [route.success]:
          route.success === 204
            ? { description: 'Done' }
            : { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } },
        ...(route.body ? { 400: problem('A bad body: one entry per bad field'), 413: problem('Body too large') } : {}),
        ...(route.permission ? { 401: problem('No valid token'), 403: problem('Not allowed') } : {}),
        ...(route.waits
          ? { 429: problem('Too many waits open (maxWaitsPerToken, maxWaits): retry after Retry-After seconds') }
          : {}),
        503: problem('The store cannot be reached'),
      },
    };
    if (route.path.includes(':id')) {
      op.parameters = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];
    }
    if (route.body) {
      const name = route.body.name;
      schemas[name] = dtoSchema(route.body);
      op.requestBody = {
        required: false,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } },
      };
    }
    paths[path] = { ...paths[path], [route.method]: op };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'koa-maintenance-mode control API', version },
    paths,
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
