import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { expect } from 'chai';
import Koa from 'koa';
import supertest from 'supertest';
import { MaintenanceService, maintenance } from '../src/index.js';
import { openApiDocument } from '../src/koa/api/openapi.js';
import { captureLogger } from './helpers/app.js';
import { exited, modulesLoadedBy, track } from './helpers/children.js';
import { CLI_BIN, cliProcess } from './helpers/cli.js';
import { PATIENCE_MS, until } from './helpers/wait.js';

const ROOT = join(__dirname, '..', '..');

/** What a tool call answers, as the SDK's client gives it. */
interface Answer {
  readonly isError?: boolean;
  readonly content: Array<{ type: string; text: string }>;
  readonly structuredContent?: Record<string, unknown>;
}

/** The text of an answer (one text item). */
const textOf = (a: Answer) => a.content.map((c) => c.text).join('\n');

describe('maintenance-mode mcp: an agent drives maintenance through the MCP SDK client over stdio', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  const services: MaintenanceService[] = [];
  const servers: Array<{ client: Client; child?: ChildProcess; pid: number | null }> = [];

  /** A service on the same file store, as the app uses it. */
  const service = () => {
    const s = new MaintenanceService({ stateFilePath: file, logger: captureLogger() });
    services.push(s);
    return s;
  };
  /** The site: an app behind `maintenance()` (of `scope` when given) on the same store. */
  const site = (scope?: string) => {
    const app = new Koa();
    app.silent = true;
    app.use(maintenance({ service: service(), ...(scope ? { scope } : {}) }));
    app.use((ctx) => {
      ctx.body = 'the shop';
    });
    return () => supertest(app.callback()).get('/');
  };
  const token = async (label: string, allow: string[], scope?: string) =>
    (await service().createToken({ label, allow, ...(scope ? { scope } : {}) })).token;

  /** Starts `maintenance-mode mcp` (the built CLI) with `env`, and connects the SDK's client to it. */
  async function connect(env: Record<string, string>, command = process.execPath, args = [CLI_BIN, 'mcp']) {
    const transport = new StdioClientTransport({
      command,
      args,
      env: { PATH: process.env.PATH ?? '', MAINTENANCE_MODE_STATE_FILE_PATH: file, ...env },
      cwd: dir,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'mcp-test', version: '1.0.0' });
    const entry: { client: Client; child?: ChildProcess; pid: number | null } = { client, pid: null };
    servers.push(entry);
    let stderr = '';
    transport.stderr?.on('data', (d) => {
      stderr += d;
    });
    await client.connect(transport);
    entry.pid = transport.pid;
    // The transport's process, registered so that no path of the run leaves it behind (the pid is the fallback).
    entry.child = (transport as unknown as { _process?: ChildProcess })._process;
    if (entry.child) track(entry.child, 'maintenance-mode mcp');
    const call = (name: string, args: Record<string, unknown> = {}) =>
      client.callTool({ name, arguments: args }) as Promise<Answer>;
    return { client, call, child: entry.child, log: () => stderr };
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-mcp-'));
    file = join(dir, 'maintenance_mode_state.json');
  });
  afterEach(async () => {
    for (const { client, pid } of servers.splice(0)) {
      await client.close().catch(() => undefined);
      if (pid !== null) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited already
        }
      }
    }
    await Promise.all(services.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists its nine tools, each with the input schema of the control API DTO it takes, and says whom it acts as', async () => {
    const { client } = await connect({ MAINTENANCE_MODE_TOKEN: await token('deploy-agent', ['read']) });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).to.deep.equal([
      'maintenance_status',
      'maintenance_fleet',
      'maintenance_upcoming',
      'maintenance_history',
      'maintenance_on',
      'maintenance_off',
      'maintenance_window_add',
      'maintenance_window_remove',
      'maintenance_wait',
    ]);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    const { schemas } = openApiDocument('/api', '0').components as { schemas: Record<string, object> };
    // The write tools take the API's body and `confirm`; the schema is generated from the same class.
    const { confirm, ...onFields } = byName.maintenance_on.inputSchema.properties as Record<string, object>;
    expect(confirm).to.include({ type: 'boolean' });
    expect({ ...byName.maintenance_on.inputSchema, properties: onFields }).to.deep.equal(schemas.MaintenanceOnBody);
    expect(byName.maintenance_window_add.inputSchema.required).to.have.members([
      'rrule',
      'tz',
      'start',
      'durationMinutes',
    ]);
    const { confirm: _, ...windowFields } = byName.maintenance_window_add.inputSchema.properties as object as Record<
      string,
      object
    >;
    expect(windowFields).to.deep.equal((schemas.WindowBody as { properties: object }).properties);
    expect(byName.maintenance_wait.inputSchema).to.deep.equal(schemas.WaitBody);
    for (const t of tools) expect(t.inputSchema, t.name).to.include({ type: 'object', additionalProperties: false });
    expect(byName.maintenance_status.annotations).to.include({ readOnlyHint: true });
    expect(byName.maintenance_on.annotations).to.include({ readOnlyHint: false, destructiveHint: true });
    expect(byName.maintenance_on.description).to.include('"confirm": true');
    expect(client.getInstructions()).to.include('mcp:deploy-agent').and.include('allows read');
  });

  it('lets a read token read, and refuses it every switch: nothing changes', async () => {
    const { call } = await connect({ MAINTENANCE_MODE_TOKEN: await token('reader', ['read']) });
    const status = await call('maintenance_status');
    expect(status.isError, textOf(status)).to.not.equal(true);
    expect(status.structuredContent).to.include({ enabled: false, active: false });
    for (const [name, args] of [
      ['maintenance_on', { confirm: true }],
      ['maintenance_on', {}],
      ['maintenance_off', { confirm: true }],
      ['maintenance_window_add', { rrule: 'FREQ=DAILY', tz: 'UTC', start: '03:00', durationMinutes: 5, confirm: true }],
    ] as const) {
      const refused = await call(name, args);
      expect(refused.isError, name).to.equal(true);
      expect(textOf(refused), name).to.match(
        /^forbidden: This token may not use "(on|off|windows)"; it allows read\.$/,
      );
    }
    expect(await service().history()).to.deep.equal([]);
    expect((await site()()).status).to.equal(200);
  });

  it('changes nothing on maintenance_on without confirm, and says what it would change', async () => {
    const { call } = await connect({ MAINTENANCE_MODE_TOKEN: await token('deploy-agent', ['on', 'off', 'read']) });
    const end = new Date(Date.now() + 3_600_000).toISOString();
    const dry = await call('maintenance_on', { message: 'Upgrading the database', end });
    expect(dry.isError, textOf(dry)).to.not.equal(true);
    expect(textOf(dry)).to.match(
      /^Would switch maintenance on for the whole site now until \S+\. Nothing changed: to do it, call maintenance_on again with the same arguments and "confirm": true\.\n\{/,
    );
    expect(dry.structuredContent).to.include({ confirmed: false, wouldChange: true });
    expect(dry.structuredContent?.now).to.include({ enabled: false });
    expect(dry.structuredContent?.after).to.include({ enabled: true, message: 'Upgrading the database' });
    expect(dry.structuredContent?.after).to.have.property('end', end);
    // `confirm: false` is no confirmation either; an end in the past is refused as the switch would refuse it.
    expect((await call('maintenance_on', { confirm: false })).structuredContent).to.include({ confirmed: false });
    const past = await call('maintenance_on', { end: '2001-01-01T00:00:00Z' });
    expect(past.isError).to.equal(true);
    expect(textOf(past)).to.match(/^invalid_schedule: end \(2001-01-01T00:00:00\.000Z\) is not in the future/);
    expect(await service().history()).to.deep.equal([]);
    expect((await site()()).status).to.equal(200);
    const off = await call('maintenance_off');
    expect(off.structuredContent).to.include({
      wouldChange: false,
      summary: 'Maintenance is already off for the whole site: nothing would change.',
    });
  });

  it('switches on with confirm: true: the app on the same store answers 503, and the history says mcp:<label>', async () => {
    const request = site();
    expect((await request()).status).to.equal(200);
    const { call } = await connect({ MAINTENANCE_MODE_TOKEN: await token('deploy-agent', ['on', 'off', 'read']) });
    const on = await call('maintenance_on', { message: 'Upgrading the database', confirm: true });
    expect(on.isError, textOf(on)).to.not.equal(true);
    expect(on.structuredContent).to.include({ enabled: true, changed: true, updatedBy: 'mcp:deploy-agent' });
    await until(async () => (await request()).status === 503, PATIENCE_MS);
    const [entry] = await service().history(1);
    expect(entry).to.include({ by: 'mcp:deploy-agent', source: 'mcp', to: 'on', message: 'Upgrading the database' });
    const history = await call('maintenance_history', { limit: 1 });
    expect((history.structuredContent as { entries: unknown[] }).entries[0]).to.include({ by: 'mcp:deploy-agent' });
    await call('maintenance_off', { confirm: true });
    await until(async () => (await request()).status === 200, PATIENCE_MS);
    expect((await service().history(1))[0]).to.include({ by: 'mcp:deploy-agent', to: 'off' });
  });

  it('acts with a scoped token on its scope only: its switches, its status and its history', async () => {
    const shop = site();
    const billing = site('billing');
    const s = service();
    await s.enable({ scope: 'search', by: 'cli:ops' }); // another tenant's entry, which the token must not see
    const { call } = await connect({
      MAINTENANCE_MODE_TOKEN: await token('billing-agent', ['on', 'off', 'read'], 'billing'),
    });
    const elsewhere = await call('maintenance_on', { scope: 'search', confirm: true });
    expect(elsewhere.isError).to.equal(true);
    expect(textOf(elsewhere)).to.equal('wrong_scope: This token may act on the scope "billing" only.');
    const on = await call('maintenance_on', { confirm: true });
    expect(on.structuredContent).to.include({ scope: 'billing', enabled: true, changed: true });
    await until(async () => (await billing()).status === 503, PATIENCE_MS);
    expect((await shop()).status).to.equal(200);
    expect((await s.getStoredState()).enabled).to.equal(false);
    const status = await call('maintenance_status');
    expect(status.structuredContent).to.include({ scope: 'billing', enabled: true });
    expect(Object.keys(status.structuredContent?.scopes as object)).to.deep.equal(['billing']);
    const history = (await call('maintenance_history')).structuredContent?.entries as Array<{ scope?: string }>;
    expect(history.map((e) => e.scope)).to.deep.equal(['billing']);
    expect((await call('maintenance_status', { scope: 'search' })).isError).to.equal(true);
    expect((await s.getStoredState('search')).enabled).to.equal(true); // untouched
  });

  it('answers bad arguments with the schema rules broken, field by field, as an error result without a stack', async () => {
    const { call } = await connect({
      MAINTENANCE_MODE_TOKEN: await token('deploy-agent', ['on', 'off', 'windows', 'read']),
    });
    const bad = await call('maintenance_on', { mesage: 'x', end: 'tomorrow', confirm: 'yes' });
    expect(bad.isError).to.equal(true);
    const text = textOf(bad);
    expect(text.split('\n')).to.have.members([
      'invalid_arguments: The arguments of maintenance_on are not valid (its inputSchema says what it takes).',
      '- mesage: mesage is not a field of this body; did you mean message?',
      '- end: end must be an ISO-8601 instant such as "2026-12-01T02:00:00Z"',
      '- confirm: confirm must be true or false',
    ]);
    expect(text).to.not.match(/\bat .+:\d+:\d+/);
    expect(bad.structuredContent).to.include({ error: 'invalid_arguments', status: 400 });
    const limit = await call('maintenance_history', { limit: 0 });
    expect(textOf(limit)).to.include('- limit: limit must be a whole number from 1 to 200');
    const window = await call('maintenance_window_add', {
      rrule: 'FREQ=SOMETIMES',
      tz: 'Mars/Olympus',
      start: '03:00',
      durationMinutes: 30,
    });
    expect(window.isError).to.equal(true);
    expect(textOf(window))
      .to.match(/\n- rrule: /)
      .and.match(/\n- tz: /);
    const unknown = await call('maintenance_reboot');
    expect(textOf(unknown)).to.match(
      /^unknown_tool: No tool is named "maintenance_reboot"; the tools are maintenance_status,/,
    );
    expect(await service().history()).to.deep.equal([]);
  });

  it('previews and adds a recurring window, lists its occurrences, and removes it only when confirmed', async () => {
    const { call } = await connect({ MAINTENANCE_MODE_TOKEN: await token('planner', ['windows', 'read']) });
    const def = {
      id: 'sunday',
      rrule: 'FREQ=WEEKLY;BYDAY=SU',
      tz: 'Europe/Berlin',
      start: '02:00',
      durationMinutes: 30,
    };
    const dry = await call('maintenance_window_add', def);
    expect(dry.structuredContent).to.include({ confirmed: false, wouldChange: true });
    expect(dry.structuredContent?.next).to.have.length(3);
    expect(await service().windows()).to.deep.equal([]);
    const added = await call('maintenance_window_add', { ...def, confirm: true });
    expect(added.structuredContent).to.include({ id: 'sunday', by: 'mcp:planner' });
    const upcoming = await call('maintenance_upcoming', { count: 2 });
    expect(upcoming.structuredContent?.occurrences).to.have.length(2);
    expect(await call('maintenance_window_remove', { id: 'sunday' })).to.have.nested.property(
      'structuredContent.confirmed',
      false,
    );
    expect((await service().windows()).map((w) => w.id)).to.deep.equal(['sunday']);
    await call('maintenance_window_remove', { id: 'sunday', confirm: true });
    expect(await service().windows()).to.deep.equal([]);
  });

  it('answers unauthorized to every call once its token is revoked, and ends by itself when the client closes', async () => {
    const s = service();
    const made = await s.createToken({ label: 'deploy-agent', allow: ['read'] });
    const { client, call, child, log } = await connect({ MAINTENANCE_MODE_TOKEN: made.token });
    expect((await call('maintenance_status')).isError).to.not.equal(true);
    await s.revokeToken(made.info.id);
    const refused = await call('maintenance_status');
    expect(refused.isError).to.equal(true);
    expect(textOf(refused)).to.equal(
      'unauthorized: The token in MAINTENANCE_MODE_TOKEN is not valid any more: it is unknown, expired or revoked.',
    );
    expect(child, 'the transport has a child process').to.not.equal(undefined);
    const proc = child as ChildProcess;
    proc.stdin?.end(); // what a host does when it is done: the server ends by itself (else this test times out)
    await exited(proc);
    await client.close();
    expect({ code: proc.exitCode, signal: proc.signalCode }).to.deep.equal({ code: 0, signal: null });
    expect(log()).to.match(/: stopped \(the client closed the connection\)\.\n$/); // its own way out: then main() closes the store
    // A host that stops it with SIGTERM: the same way out.
    const second = await connect({
      MAINTENANCE_MODE_TOKEN: (await s.createToken({ label: 'a', allow: ['read'] })).token,
    });
    (second.child as ChildProcess).kill('SIGTERM');
    await exited(second.child as ChildProcess);
    expect((second.child as ChildProcess).exitCode).to.equal(0);
    expect(second.log()).to.match(/: stopped \(SIGTERM\)\.\n$/);
  });

  it('does not start without a valid token: one line on stderr, exit 1, nothing on stdout', async () => {
    for (const value of ['', 'mmt_not-a-token']) {
      const r = await cliProcess(['mcp'], { MAINTENANCE_MODE_TOKEN: value, MAINTENANCE_MODE_STATE_FILE_PATH: file });
      expect(r.code, r.err).to.equal(1);
      expect(r.out).to.equal('');
      expect(r.err.split('\n').filter(Boolean), r.err).to.have.length(1);
      expect(r.err).to.match(
        value === '' ? /needs a token in MAINTENANCE_MODE_TOKEN/ : /is not valid for the state file/,
      );
    }
  });

  it("runs the README's client configuration, and the README's session gets the answers it shows", async () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'examples', 'readme', 'mcp.json'), 'utf8'));
    const server = config.mcpServers['maintenance-mode'] as { command: string; args: string[]; env: object };
    expect(server.command).to.match(/\/node_modules\/\.bin\/maintenance-mode$/);
    expect(Object.keys(server.env)).to.include('MAINTENANCE_MODE_TOKEN');
    // The app's install, its store: here the built CLI on this test's file store.
    const request = site();
    expect((await request()).status).to.equal(200); // the instance joins the fleet
    const { call } = await connect(
      { MAINTENANCE_MODE_TOKEN: await token('deploy-agent', ['on', 'off', 'read']) },
      process.execPath,
      [CLI_BIN, ...server.args],
    );
    const lines = readFileSync(join(ROOT, 'examples', 'readme', 'mcp-session.txt'), 'utf8').split('\n');
    const squeeze = (text: string) => text.replace(/\s+/g, '');
    let calls = 0;
    for (let i = 0; i < lines.length; i++) {
      const asked = /^agent → (\w+) (\{.*\})$/.exec(lines[i]);
      if (!asked) continue;
      const shown = /^\s+← (.*)$/.exec(lines[i + 1]) as RegExpExecArray;
      const got = squeeze(textOf(await call(asked[1], JSON.parse(asked[2]))));
      // The answer as shown, "…" standing for what it leaves out (times, ids, the rest of the JSON).
      const parts = squeeze(shown[1]).split('…');
      let at = 0;
      parts.forEach((part, n) => {
        const found = n === 0 ? (got.startsWith(part) ? 0 : -1) : got.indexOf(part, at);
        expect(found, `${asked[1]}: "${part}" in ${got}`).to.be.at.least(0);
        at = found + part.length;
      });
      if (parts[parts.length - 1] !== '')
        expect(got.endsWith(parts[parts.length - 1]), `${asked[1]} ends`).to.equal(true);
      calls++;
    }
    expect(calls).to.equal(6);
  });

  it('keeps the SDK off the library: importing the package or the CLI loads none of it, and the CLI loads its CommonJS build', function () {
    this.timeout(60_000);
    const loaded = (code: string) => modulesLoadedBy(code, /node_modules\/@modelcontextprotocol\//);
    expect(loaded("require('./build/src/index.js')")).to.equal(0);
    expect(loaded("require('./build/src/cli/cli.js')")).to.equal(0);
    expect(require.resolve('@modelcontextprotocol/sdk/server/stdio.js')).to.match(/\/dist\/cjs\/server\/stdio\.js$/);
    expect(require.resolve('@modelcontextprotocol/sdk/server/index.js')).to.match(/\/dist\/cjs\/server\/index\.js$/);
  });
});
