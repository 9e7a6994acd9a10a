/** `token create|list|revoke`: API tokens for pipelines and chat-ops (the token is printed once; the store keeps its hash). */
import type { TokenInfo } from '../../core/tokens.js';
import type { MaintenanceService } from '../../service/service.js';
import type { Parsed } from '../args.js';
import { accountName, type CliIo, EXIT, UsageError } from '../io.js';
import { printLine } from '../output.js';

/** Creates, lists or revokes a token. */
export async function token(p: Parsed, service: MaintenanceService, io: CliIo): Promise<number> {
  if (p.path === 'revoke') {
    await service.revokeToken(p.id as string);
    io.stdout.write(`Revoked token ${p.id}: every instance refuses it from its next request on.\n`);
    return EXIT.ok;
  }
  if (p.path === 'list') return list(p, service, io);
  if (!p.label || !p.allow) {
    throw new UsageError('token create needs --label (e.g. deploy-bot) and --allow (some of on,off,windows,read).');
  }
  const made = await service.createToken({
    label: p.label,
    allow: p.allow.split(',').map((a) => a.trim()),
    ...(p.scope !== undefined ? { scope: p.scope } : {}),
    ...(p.ttlMs !== undefined ? { ttlMs: p.ttlMs } : {}),
    by: accountName(io),
  });
  const { id, label, allow, scope, expiresAt } = made.info;
  if (p.json) {
    io.stdout.write(`${JSON.stringify({ id, token: made.token, label, allow, scope, expiresAt })}\n`);
    return EXIT.ok;
  }
  printLine(io, `Created token ${id} (${describe(made.info)}).`);
  printLine(io, 'Store it now as a secret (e.g. MAINTENANCE_TOKEN); it is not shown again:');
  printLine(io, made.token);
  return EXIT.ok;
}

/** What a token may do, on what, until when. */
function describe(t: TokenInfo): string {
  const parts = [
    `${t.label}: ${t.allow.join(',')}`,
    t.scope && `scope ${t.scope}`,
    t.expiresAt && `expires ${t.expiresAt}`,
  ];
  return parts.filter(Boolean).join(', ');
}

async function list(p: Parsed, service: MaintenanceService, io: CliIo): Promise<number> {
  const all = await service.tokens();
  if (p.json) {
    io.stdout.write(`${JSON.stringify(all)}\n`);
    return EXIT.ok;
  }
  if (all.length === 0) io.stdout.write('No tokens.\n');
  const now = Date.now();
  for (const t of all) {
    const expired = t.expiresAt !== undefined && Date.parse(t.expiresAt) <= now ? ' [expired]' : '';
    printLine(
      io,
      `${t.id}  ${describe(t)}  created ${t.createdAt}${t.createdBy ? ` by ${t.createdBy}` : ''}${expired}`,
    );
  }
  return EXIT.ok;
}
