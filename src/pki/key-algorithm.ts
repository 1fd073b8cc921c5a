/** Key algorithms an auto certificate may ask for (DESIGN.md: `keyAlgorithm`). */
export const KEY_ALGORITHMS = ['rsa2048', 'rsa3072', 'rsa4096', 'ecdsa256', 'ecdsa384'] as const;
/** One of {@link KEY_ALGORITHMS}. */
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** True when `value` names a supported key algorithm. */
export function isKeyAlgorithm(value: unknown): value is KeyAlgorithm {
  return typeof value === 'string' && (KEY_ALGORITHMS as readonly string[]).includes(value);
}
