/**
 * Typed errors of the domain (STYLE.md habit 6). Domain code throws these; the API maps each
 * `code` to a problem+json entry of its catalogue (src/api/problems.ts). Nothing here knows HTTP.
 */

/** The stable codes of domain errors; each has an entry in the problem catalogue. */
export type DomainErrorCode =
  | 'validation_failed'
  | 'invalid_names'
  | 'names_not_covered'
  | 'records_not_visible'
  | 'not_found'
  | 'conflict'
  | 'provider_not_available'
  | 'invalid_certificate_input'
  | 'operation_not_allowed'
  | 'acme_error'
  | 'private_address_refused'
  | 'unauthorized'
  | 'forbidden'
  | 'too_many_requests';

/** One field or name at fault. */
export interface FieldError {
  /** JSON pointer-ish path of the field, e.g. `properties.subjectAlternativeNames[3]`. */
  field: string;
  /** The offending value, where it is safe to echo (never a secret). */
  value?: string;
  message: string;
}

/** An error a user can fix: the message says what to do. */
export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly errors: FieldError[] = [],
    readonly retryAfter?: Date,
  ) {
    super(message);
  }
}

/** Shorthand for a missing resource. */
export function notFound(kind: string, id: string): DomainError {
  return new DomainError('not_found', `${kind} ${id} does not exist`);
}
