/**
 * Argument checks shared by the whole library (as tfjs-layers' generic_utils): each throws an
 * error naming the argument and the bad value, e.g. "epochs must be a positive integer (got 0)",
 * and otherwise returns the value with its checked type.
 */

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

/** `value` as a positive integer (1, 2, …), else an error naming `name`. */
export function positiveInteger(name: string, value: unknown): number {
  // safe: a count beyond 2^53 − 1 is not exact in a double, and no run of ours is that long
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer (got ${show(value)})`);
  }
  return value;
}

/** `value` as a non-negative integer (0, 1, …), else an error naming `name`. */
export function nonNegativeInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer (got ${show(value)})`);
  }
  return value;
}

/** `value` as a finite number above 0, else an error naming `name`. */
export function positiveNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new Error(`${name} must be a positive number (got ${show(value)})`);
  }
  return value;
}

/** `value` as a finite number in [min, max], else an error naming `name` and the range. */
export function numberInRange(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number in [${min}, ${max}] (got ${show(value)})`);
  }
  return value;
}

/** A seed: undefined (unseeded) or a non-negative integer. */
export function optionalSeed(value: unknown, name = 'seed'): number | undefined {
  return value === undefined ? undefined : nonNegativeInteger(name, value);
}

/** `value` as one of `allowed`, else an error listing them. */
export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    const names = allowed.map((a) => `'${a}'`);
    const expected = names.length === 2 ? `${names[0]} or ${names[1]}` : `one of ${names.join(', ')}`;
    throw new Error(`${name} must be ${expected} (got ${JSON.stringify(value)})`);
  }
  return value as T;
}

/** `value` as true or false, else an error naming `name`. */
export function booleanFlag(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error(`${name} must be true or false (got ${JSON.stringify(value)})`);
  return value;
}
