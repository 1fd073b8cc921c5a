/** Machine-readable reasons a PKI operation refuses its input. Stable: the API maps each to a problem type. */
export type PkiErrorCode =
  | 'invalid_pem'
  | 'invalid_certificate'
  | 'invalid_key'
  | 'key_mismatch'
  | 'chain_broken'
  | 'wrong_password'
  | 'invalid_pkcs12'
  | 'unsupported_algorithm'
  | 'too_large'
  | 'invalid_name';

/**
 * A typed failure of a PKI operation. `message` says what is wrong and how to fix it; it MUST NOT
 * contain key material or passwords. `field` names the input at fault where one can be named.
 */
export class PkiError extends Error {
  /** Stable machine code. */
  readonly code: PkiErrorCode;
  /** The request field at fault (e.g. `privateKey`), when known. */
  readonly field?: string;

  constructor(code: PkiErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PkiError';
    this.code = code;
    if (options?.field !== undefined) this.field = options.field;
  }

  /** A copy of this error attributed to `field` (keeps a field that is already set). */
  withField(field: string): PkiError {
    if (this.field !== undefined) return this;
    return new PkiError(this.code, this.message, { field, cause: this.cause });
  }
}

/** True when `err` is a {@link PkiError}, optionally with the given code. */
export function isPkiError(err: unknown, code?: PkiErrorCode): err is PkiError {
  return err instanceof PkiError && (code === undefined || err.code === code);
}
