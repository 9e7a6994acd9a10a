/**
 * The open streams of `GET <prefix>/events` for one routes configuration. Clients are grouped by what they are sent —
 * a channel per service and scope, a group per `Accept-Language` in it — so a change is computed once per group and
 * written to its clients, never computed per client. Each service is watched once (its change signal: a pushed change
 * is told at once); one timer for the whole hub looks at every channel again each second (windows that start or end
 * by the clock, stores without push), writes the keep-alive comment every 25 s and ends the streams of a server that
 * stopped listening. No timer, listener or computation per client besides its `close` handler; a client that stops
 * reading is dropped, never buffered further.
 */
import type { ServerResponse } from 'node:http';
import {
  KEEP_ALIVE_FRAME,
  KEEP_ALIVE_MS,
  MAX_BUFFERED_BYTES,
  stateFrame,
  upToDate,
  viewRevision,
} from '../core/live.js';
import type { MaintenanceState } from '../core/state.js';
import type { MaintenanceService } from '../service/service.js';
import { type PublicView, publicBody, readPublicView } from './public-view.js';

/** How often the hub looks at every channel again without a change signal. */
export const LIVE_CHECK_MS = 1000;

/** The caps of a hub (the `live` option of the routes). */
export interface LiveCaps {
  readonly maxClients: number;
  readonly maxPerClient: number;
}

/** A new stream, its headers sent: its response and what it follows. */
export interface LiveStream {
  readonly res: ServerResponse;
  readonly service: MaintenanceService;
  readonly scope: string | undefined;
  readonly acceptLanguage: string;
  /** Who counts toward `maxPerClient` (`clientKey` of the address). */
  readonly client: string;
  /** The revision the client last received, from its `Last-Event-ID` header. */
  readonly lastEventId: string | undefined;
}

/** A server a stream came through (`socket.server`): when it stops listening, its streams end. */
type Listening = { readonly listening: boolean };

/** One stream: a few fields, no closure of its own (thousands of them are open at once). */
interface Client {
  readonly hub: LiveHub;
  readonly res: ServerResponse;
  readonly group: Group;
  readonly address: string;
  readonly server: Listening | undefined;
  /** The JSON this client was last sent (the group's string itself: no copy). */
  sent: string | undefined;
  lastEventId: string | undefined;
  gone: boolean;
}

/** Where a response keeps its client, for the one `close` handler all of them share. */
const CLIENT = Symbol('koa-maintenance-mode.live-client');
type WithClient = ServerResponse & { [CLIENT]?: Client };

/** The `close` handler of every stream (one function, no closure per client): the client left, or the stream ended. */
function onStreamClose(this: WithClient): void {
  const client = this[CLIENT];
  if (client !== undefined) client.hub.forgetClient(client);
}

interface Group {
  readonly channel: Channel;
  readonly acceptLanguage: string;
  readonly clients: Set<Client>;
  json: string | undefined;
  frame: Buffer | undefined;
}

interface Channel {
  readonly service: MaintenanceService;
  readonly scope: string | undefined;
  readonly key: string;
  readonly groups: Map<string, Group>;
  size: number;
  /** Clients not sent anything yet (their first event, or nothing when `Last-Event-ID` says they are up to date). */
  fresh: Client[];
  checking: boolean;
  again: boolean;
  /** What the last look saw: the states, and the JSON in the default language. */
  global: MaintenanceState | undefined;
  scoped: MaintenanceState | undefined;
  probe: string | undefined;
}

interface Watched {
  readonly channels: Map<string, Channel>;
  readonly unwatch: () => void;
}

const KEEP_ALIVE = Buffer.from(KEEP_ALIVE_FRAME);

/** The streams of one routes configuration. */
export class LiveHub {
  private readonly services = new Map<MaintenanceService, Watched>();
  private readonly perClient = new Map<string, number>();
  private readonly servers = new Map<Listening, number>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private keptAliveAt = 0;

  constructor(private readonly caps: LiveCaps) {}

  /** Streams open now. */
  get clients(): number {
    return this.count;
  }

  /** Whether one more stream of `client` stays within the caps. */
  admits(client: string): boolean {
    return this.count < this.caps.maxClients && (this.perClient.get(client) ?? 0) < this.caps.maxPerClient;
  }

  /** Takes a stream on: it is sent the view now (unless up to date), then every change of it, until it ends. */
  open(stream: LiveStream): void {
    const channel = this.channelOf(stream.service, stream.scope);
    let group = channel.groups.get(stream.acceptLanguage);
    if (group === undefined) {
      group = { channel, acceptLanguage: stream.acceptLanguage, clients: new Set(), json: undefined, frame: undefined };
      channel.groups.set(stream.acceptLanguage, group);
    }
    const server = (stream.res.socket as { server?: Listening } | null)?.server;
    const client: Client = {
      hub: this,
      res: stream.res,
      group,
      address: stream.client,
      server,
      sent: undefined,
      lastEventId: stream.lastEventId,
      gone: false,
    };
    group.clients.add(client);
    channel.size++;
    channel.fresh.push(client);
    this.count++;
    this.perClient.set(client.address, (this.perClient.get(client.address) ?? 0) + 1);
    if (server !== undefined) this.servers.set(server, (this.servers.get(server) ?? 0) + 1);
    (stream.res as WithClient)[CLIENT] = client;
    stream.res.on('close', onStreamClose);
    this.start();
    void this.check(channel);
  }

  private channelOf(service: MaintenanceService, scope: string | undefined): Channel {
    let watched = this.services.get(service);
    if (watched === undefined) {
      const channels = new Map<string, Channel>();
      const unwatch = service.watch(() => {
        for (const channel of [...channels.values()]) void this.check(channel);
      });
      watched = { channels, unwatch };
      this.services.set(service, watched);
    }
    const key = scope ?? '';
    let channel = watched.channels.get(key);
    if (channel === undefined) {
      channel = {
        service,
        scope,
        key,
        groups: new Map(),
        size: 0,
        fresh: [],
        checking: false,
        again: false,
        global: undefined,
        scoped: undefined,
        probe: undefined,
      };
      watched.channels.set(key, channel);
    }
    return channel;
  }

  /** Forgets a client whose response closed (it left, or its stream ended). */
  forgetClient(client: Client): void {
    this.remove(client);
  }

  /** Forgets a client (its stream ended, was dropped, or its client left); idempotent. */
  private remove(client: Client): void {
    if (client.gone) return;
    client.gone = true;
    client.res.off('close', onStreamClose);
    (client.res as WithClient)[CLIENT] = undefined;
    const { group } = client;
    const { channel } = group;
    group.clients.delete(client);
    if (group.clients.size === 0) channel.groups.delete(group.acceptLanguage);
    if (--channel.size === 0) this.forget(channel);
    this.count--;
    const n = (this.perClient.get(client.address) ?? 1) - 1;
    if (n === 0) this.perClient.delete(client.address);
    else this.perClient.set(client.address, n);
    if (client.server !== undefined) {
      const s = (this.servers.get(client.server) ?? 1) - 1;
      if (s === 0) this.servers.delete(client.server);
      else this.servers.set(client.server, s);
    }
    if (this.count === 0) this.stop();
  }

  private forget(channel: Channel): void {
    const watched = this.services.get(channel.service);
    if (watched === undefined || watched.channels.get(channel.key) !== channel) return;
    watched.channels.delete(channel.key);
    if (watched.channels.size === 0) {
      watched.unwatch();
      this.services.delete(channel.service);
    }
  }

  /**
   * Looks at a channel's view again and sends what changed; one look at a time per channel (a signal during a look
   * asks for one more after it), so events leave in the order the states were read.
   */
  private async check(channel: Channel): Promise<void> {
    if (channel.checking) {
      channel.again = true;
      return;
    }
    channel.checking = true;
    try {
      do {
        channel.again = false;
        if (channel.service.closed) return this.endChannel(channel);
        const now = new Date();
        const view = await readPublicView(channel.service, channel.scope, now);
        if (channel.size === 0) return;
        if (channel.service.closed) return this.endChannel(channel);
        this.publish(channel, view, now);
      } while (channel.again);
    } catch (err) {
      // The view could not be made (never a store failure: reads fall back); the next look tries again.
      channel.service.config.logger.warn(`koa-maintenance-mode: live events not sent: ${(err as Error).message}`);
    } finally {
      channel.checking = false;
    }
  }

  /** Sends each group whose JSON changed to its clients, and their first event to new clients. */
  private publish(channel: Channel, view: PublicView, now: Date): void {
    const service = channel.service;
    const probe = JSON.stringify(publicBody(service, view, '', now));
    const same = view.global === channel.global && view.scoped === channel.scoped && probe === channel.probe;
    channel.global = view.global;
    channel.scoped = view.scoped;
    channel.probe = probe;
    const revision = viewRevision(view);
    for (const group of channel.groups.values()) {
      if (same && group.json !== undefined) continue;
      const json =
        group.acceptLanguage === '' ? probe : JSON.stringify(publicBody(service, view, group.acceptLanguage, now));
      if (json === group.json) continue;
      group.json = json;
      group.frame = Buffer.from(stateFrame(revision, json));
      for (const client of [...group.clients]) this.deliver(client, view);
    }
    const fresh = channel.fresh;
    channel.fresh = [];
    for (const client of fresh) if (!client.gone) this.deliver(client, view);
  }

  /** Writes the client's group's event unless it has it (or says, reconnecting, that it is up to date). */
  private deliver(client: Client, view: PublicView): void {
    const { group } = client;
    if (client.sent === group.json) return;
    if (client.lastEventId !== undefined) {
      const known = upToDate(client.lastEventId, view);
      client.lastEventId = undefined;
      if (known) {
        client.sent = group.json;
        return;
      }
    }
    if (this.write(client, group.frame as Buffer)) client.sent = group.json;
  }

  /** Writes to a client; a client that stopped reading (too much waiting to be sent) is dropped instead. */
  private write(client: Client, chunk: Buffer): boolean {
    const res = client.res;
    if (res.destroyed || res.writableEnded) {
      this.remove(client);
      return false;
    }
    if (res.writableLength + chunk.length > MAX_BUFFERED_BYTES) {
      this.remove(client);
      res.destroy();
      return false;
    }
    res.write(chunk);
    return true;
  }

  /** Ends a stream: the client reconnects (elsewhere, when this instance is going away). */
  private end(client: Client): void {
    this.remove(client);
    client.res.end();
  }

  private endChannel(channel: Channel): void {
    for (const group of [...channel.groups.values()]) for (const client of [...group.clients]) this.end(client);
  }

  private *every(): Generator<Client> {
    for (const watched of [...this.services.values()]) {
      for (const channel of [...watched.channels.values()]) {
        for (const group of [...channel.groups.values()]) yield* [...group.clients];
      }
    }
  }

  /** The hub's one timer: every channel looked at again, keep-alive comments, streams of a closed server ended. */
  private tick(): void {
    for (const watched of [...this.services.values()]) {
      for (const channel of [...watched.channels.values()]) void this.check(channel);
    }
    if ([...this.servers.keys()].some((server) => !server.listening)) {
      for (const client of this.every()) if (client.server !== undefined && !client.server.listening) this.end(client);
    }
    const now = Date.now();
    if (now - this.keptAliveAt >= KEEP_ALIVE_MS) {
      this.keptAliveAt = now;
      for (const client of this.every()) if (!client.gone) this.write(client, KEEP_ALIVE);
    }
  }

  private start(): void {
    if (this.timer !== undefined) return;
    this.keptAliveAt = Date.now();
    this.timer = setInterval(() => this.tick(), LIVE_CHECK_MS);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
