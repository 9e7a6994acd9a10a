/** The commits of a Redis store: one script per change (revision, state, history entry and change message at once). */
import { encodeChange, REVISION_PLACEHOLDER } from '../../core/change-feed.js';
import { type Committer, revisionConflict } from '../../core/commit.js';
import type { MaintenanceState } from '../../core/state.js';

/** The Redis keys and the channel of one store. */
export interface RedisKeys {
  readonly state: string;
  readonly revision: string;
  readonly scopes: string;
  readonly history: string;
  readonly channel: string;
}

/**
 * One change in one script: unless the revision is not `ifRevision` any more (then nothing, answered as -1 - the revision),
 * the next revision (INCR), the state (SET, or HSET / HDEL of the scope's field), the
 * history entry (RPUSH + LTRIM) and the change message (PUBLISH), each stamped with the revision. Redis runs a script
 * whole, so a write the client gave up on (a timeout) lands later with its history entry and its push, or not at all.
 */
const COMMIT_SCRIPT = `
if ARGV[8] ~= '' then
  local current = tonumber(redis.call('GET', KEYS[3]) or '0')
  if current ~= tonumber(ARGV[8]) then return -1 - current end
end
local rev = redis.call('INCR', KEYS[3])
local function stamp(s) return (string.gsub(s, '"revision":%-1', '"revision":' .. rev, 1)) end
local op = ARGV[1]
if op == 'set' then redis.call('SET', KEYS[1], stamp(ARGV[3]))
elseif op == 'hset' then redis.call('HSET', KEYS[1], ARGV[2], stamp(ARGV[3]))
else redis.call('HDEL', KEYS[1], ARGV[2]) end
if ARGV[4] ~= '' then
  redis.call('RPUSH', KEYS[2], stamp(ARGV[4]))
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
end
redis.call('PUBLISH', ARGV[6], stamp(ARGV[7]))
return rev`;

interface EvalClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

/**
 * The {@link Committer} of a Redis store: each commit one {@link COMMIT_SCRIPT} run, the revision read from its counter.
 */
export function createRedisCommitter(
  connected: () => Promise<unknown>,
  keys: RedisKeys,
  serialize: (state: MaintenanceState) => Promise<string>,
): Committer {
  return {
    async commit({ scope, state, entry, ifRevision }, { historyLimit }) {
      const c = (await connected()) as EvalClient;
      const global = scope === undefined;
      const op = global ? 'set' : state.enabled ? 'hset' : 'hdel';
      const stamped = { ...state, revision: REVISION_PLACEHOLDER };
      const value = global ? await serialize(stamped) : JSON.stringify(stamped);
      const message = encodeChange({ scope, revision: REVISION_PLACEHOLDER });
      const history = entry === undefined ? '' : JSON.stringify({ ...entry, revision: REVISION_PLACEHOLDER });
      const revision = await c.eval(COMMIT_SCRIPT, {
        keys: [global ? keys.state : keys.scopes, keys.history, keys.revision],
        arguments: [
          ...[op, scope ?? '', value, history, String(historyLimit), keys.channel, message],
          ifRevision === undefined ? '' : String(ifRevision),
        ],
      });
      if (Number(revision) < 0) throw revisionConflict(ifRevision as number, -1 - Number(revision));
      return Number(revision);
    },
    async revision() {
      const c = (await connected()) as EvalClient;
      return Number((await c.get(keys.revision)) ?? 0);
    },
  };
}
