import { get, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { until } from './wait.js';

/** One Server-Sent Event as a client reads it. */
export interface SseEvent {
  readonly event?: string;
  readonly id?: string;
  readonly data: string;
}

/** An open `text/event-stream` response, read as it comes. */
export interface EventStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The events read so far, in order. */
  readonly events: SseEvent[];
  /** The comment lines read so far (`: keep-alive`). */
  readonly comments: string[];
  /** The `retry:` value the server sent, once read. */
  retryMs?: number;
  /** The body of a response that is not a stream (a refusal). */
  readonly text: () => string;
  /** Whether the server ended the stream (or the connection closed). */
  ended: boolean;
  /** Waits until `count` events were read; resolves with the last of them. */
  nth(count: number, limitMs?: number): Promise<SseEvent>;
  close(): void;
}

/** Parses one block of lines (between blank lines) into an event or a comment. */
function parseBlock(block: string, stream: EventStream): void {
  const fields: Record<string, string> = {};
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      stream.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'data') data.push(value);
    else if (name === 'retry') stream.retryMs = Number(value);
    else fields[name] = value;
  }
  if (data.length > 0) stream.events.push({ event: fields.event, id: fields.id, data: data.join('\n') });
}

/** Opens `url` (an `/events` route) and reads it as EventSource would, until closed. */
export function openEvents(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res: IncomingMessage) => {
      let buffer = '';
      let body = '';
      const stream: EventStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: [],
        text: () => body,
        ended: false,
        async nth(count, limitMs = 10_000) {
          await until(() => stream.events.length >= count || stream.ended, limitMs);
          if (stream.events.length < count) throw new Error(`the stream ended after ${stream.events.length} events`);
          return stream.events[count - 1];
        },
        close: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        buffer += chunk;
        let at = buffer.indexOf('\n\n');
        while (at >= 0) {
          parseBlock(buffer.slice(0, at), stream);
          buffer = buffer.slice(at + 2);
          at = buffer.indexOf('\n\n');
        }
      });
      const ended = () => {
        stream.ended = true;
      };
      res.on('end', ended);
      res.on('close', ended);
      res.on('error', ended);
      resolve(stream);
    });
    req.on('error', reject);
  });
}
