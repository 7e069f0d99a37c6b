/**
 * What every walkthrough's `config()` does before checking its fields (with lib/checks.ts): merge
 * the overrides into the defaults, refusing keys the config does not have (naming them).
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
