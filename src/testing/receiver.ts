/** A local webhook receiver for the claim scenarios: a real HTTP server on a free loopback port. */
import { createServer } from 'node:http';

/** What the receiver got, and how to stop it. */
export interface WebhookReceiver {
  readonly url: string;
  /** The bodies posted, parsed, in arrival order. */
  readonly bodies: Array<Record<string, unknown>>;
  /** The `event` of each post. */
  events(): unknown[];
  close(): Promise<void>;
}

/** Starts a receiver that answers every post 200. */
export async function startReceiver(): Promise<WebhookReceiver> {
  const bodies: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
    });
    req.on('end', () => {
      try {
        bodies.push(JSON.parse(raw || '{}'));
      } catch {
        bodies.push({ unparsable: raw });
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    events: () => bodies.map((b) => b.event),
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
