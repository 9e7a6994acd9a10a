/** `on` / `off`: switch, with --scope, the window options and --interactive. */
import { randomBytes } from 'node:crypto';
import { hashSecret } from '../../core/bypass.js';
import { instantFrom } from '../../core/duration.js';
import { ON_NOTES, type OnRequest } from '../../core/switch-on.js';
import type { MaintenanceService } from '../../service/service.js';
import type { Parsed } from '../args.js';
import { accountName, type CliIo, confirm, EXIT, readerLanguage, UsageError } from '../io.js';
import { describe, printer } from '../output.js';
import { settle } from './wait.js';

/** `--message TEXT` alone, or with `--message-in de=TEXT …` one text per language (`--message` is the English one). */
function messageOf(p: Parsed): string | Record<string, string> | undefined {
  const pairs = p['message-in'] ?? [];
  if (pairs.length === 0) return p.message;
  const texts: Record<string, string> = p.message === undefined ? {} : { en: p.message };
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) {
      throw new UsageError(
        `--message-in takes LOCALE=TEXT, e.g. --message-in "de=Wartung bis 3 Uhr"; received ${JSON.stringify(pair)}.`,
      );
    }
    texts[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return texts;
}

/** The window fields the command line gives (`+30m` times resolved against `now`), and a new secret if asked. */
export function onRequest(p: Parsed, now: Date): { request: OnRequest; secret?: string } {
  const secret = p.secret ? randomBytes(16).toString('hex') : undefined;
  const request: OnRequest = {
    start: p.start === undefined ? undefined : instantFrom(p.start, now),
    end: p.end === undefined ? undefined : instantFrom(p.end, now),
    message: messageOf(p),
    readOnly: p['read-only'] ? true : p['read-write'] ? false : undefined,
    dryRun: p['dry-run'] ? true : undefined,
    bypassHash: secret ? hashSecret(secret) : undefined,
    leaseMs: p.leaseMs,
  };
  return { request, secret };
}

/**
 * `on` / `off`: the service's one switch path ({@link MaintenanceService.switchOn} / `switchOff`), translated into
 * lines and an exit code (an unreadable, corrupt stored state is overwritten).
 */
export async function toggle(p: Parsed, service: MaintenanceService, io: CliIo): Promise<number> {
  const print = printer(p, service, io);
  const lang = readerLanguage(io);
  const where = p.scope ? ` for scope ${p.scope}` : '';
  const on = p.command === 'on';
  const { request, secret } = on ? onRequest(p, new Date()) : { request: {}, secret: undefined };
  const actor = { by: `cli:${accountName(io)}`, source: 'cli', ...(p.scope ? { scope: p.scope } : {}) };
  // Asked before switching, unless nothing would change: an off with nothing on, an on already on for real.
  if (p.interactive && (await service.wouldSwitch(on ? 'on' : 'off', { ...request, ...actor }))) {
    const question = `Switch maintenance mode${where} ${on ? 'on' : 'off'} in ${service.storeDescription}? [y/N] `;
    if (!(await confirm(io, question))) {
      io.stderr.write('Error: declined at the prompt; nothing changed.\n');
      return EXIT.error;
    }
  }
  const done = on ? await service.switchOn({ ...request, ...actor }) : await service.switchOff(actor);
  const settled = () => (p.wait ? settle(service, io, p.scope, p.timeoutMs) : Promise.resolve(EXIT.ok));
  if (!done.changed) {
    print(done.state, `Maintenance mode${where} is already ${on ? 'on' : 'off'}. Nothing changed.`, { changed: false });
    return settled();
  }
  print(done.state, `Maintenance mode${where} is now ${describe(done.state, new Date(), lang)}.`, {
    changed: true,
    ...(p.scope ? { scope: p.scope } : {}),
    ...(secret ? { bypassPath: `/${secret}` } : {}),
    ...(done.notes.length > 0 ? { notes: done.notes.map((n) => ON_NOTES[n]) } : {}),
  });
  if (p.json) return settled();
  for (const note of done.notes) io.stdout.write(`${ON_NOTES[note]}\n`);
  if (secret) {
    io.stdout.write(
      `Bypass: open https://<your-site>/${secret} to get through (or send x-maintenance-bypass: ${secret}).\n`,
    );
  }
  return settled();
}
