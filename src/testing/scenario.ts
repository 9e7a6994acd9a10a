/** One scenario of the contract suite: its title, what it needs of the store, and its body. */
import type { ContractNeed } from './factory.js';
import type { ContractKit } from './kit.js';

/** A scenario, run once against every store whose factory gives what it `needs`. */
export interface Scenario {
  readonly title: string;
  /** Capabilities and fault controls it needs; without one of them it is skipped, naming it. @default [] */
  readonly needs?: readonly ContractNeed[];
  /** Its timeout in milliseconds. @default 60000 */
  readonly timeoutMs?: number;
  run(kit: ContractKit): Promise<void>;
}

/** The error code of `err`, if it has one. */
export function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
