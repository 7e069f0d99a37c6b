/**
 * What every walkthrough's `config()` does before checking its fields: merge the overrides into
 * the defaults, refusing keys the config does not have (naming them), and the integer check that
 * JSON and the CLI need on top of lib/checks.ts's (a value must be exact in a double).
 */

/**
 * The defaults with `overrides` (a key given as undefined is set to undefined); an error names
 * every unknown key and the keys the walkthrough's config has.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function mergeConfig<C extends object>(walkthrough: string, defaults: C, overrides: Partial<C> = {}): C {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new Error(`${walkthrough}'s config overrides must be an object (got ${JSON.stringify(overrides)})`);
  }
  const unknown = Object.keys(overrides).filter((k) => !(k in defaults));
  if (unknown.length) {
    throw new Error(
      `${walkthrough} has no config key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (it has: ${Object.keys(defaults).join(', ')})`,
    );
  }
  return { ...defaults, ...overrides };
}

/**
 * `value`, an integer already checked, if it is exact in a double (at most 2^53 − 1), else an
 * error naming `name`.
 */
export function safeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value))
    throw new Error(`${name} must be at most ${Number.MAX_SAFE_INTEGER} (got ${value})`);
  return value;
}

/** `value` as true or false, else an error naming `name`. */
export function booleanFlag(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error(`${name} must be true or false (got ${JSON.stringify(value)})`);
  return value;
}
