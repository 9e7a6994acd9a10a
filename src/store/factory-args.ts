/** The two call forms of the URL store factories: `(url, options?)` and `({ url, ...options })`. */
import { invalidOption } from '../core/validate.js';

/** The options of a store factory given as one object: the URL and the rest. */
export type WithUrl<O> = O & {
  /** The server's URL. */
  readonly url: string;
};

/**
 * The URL and options of a call `factory(first, second)`: `first` is the URL, or an object holding it (then `second`
 * must be absent). The URL itself is checked by the factory.
 */
export function urlAndOptions<O extends object>(
  factory: string,
  first: unknown,
  second: O | undefined,
): { readonly url: unknown; readonly options: O } {
  if (typeof first !== 'object' || first === null) return { url: first, options: second ?? ({} as O) };
  if (second !== undefined) {
    invalidOption(
      `${factory}(options)`,
      'takes the URL and the options in one object, or (url, options); not both',
      second,
    );
  }
  return { url: (first as { url?: unknown }).url, options: first as O };
}
