/**
 * The problem catalogue (RFC 9457): one entry per stable error code, with its HTTP status and
 * title. `type` is `urn:certkeeper:problem:<code>`; docs/problems.md documents every entry and
 * a test keeps the two in step.
 */

/** Every problem code the API answers with. */
export const PROBLEMS = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_request: { status: 400, title: 'The request body is not valid JSON' },
  invalid_names: { status: 400, title: 'One or more certificate names cannot be used' },
  names_not_covered: { status: 400, title: 'One or more names are in no DNS zone certkeeper may write' },
  invalid_certificate_input: { status: 422, title: 'The certificate, chain, key or PKCS#12 file cannot be imported' },
  private_address_refused: { status: 400, title: 'The URL points at a loopback or private address' },
  unauthorized: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed for this user or token' },
  not_found: { status: 404, title: 'No such resource' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  provider_not_available: { status: 409, title: 'The provider cannot be used' },
  records_not_visible: { status: 409, title: 'The manual challenges are not visible yet' },
  operation_not_allowed: { status: 409, title: 'The operation is not allowed in the current state' },
  too_many_requests: { status: 429, title: 'Too many requests; wait and try again' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  acme_error: { status: 502, title: 'The ACME CA refused or failed the request' },
  notification_failed: { status: 502, title: 'The notification channel did not accept the message' },
  service_unavailable: { status: 503, title: 'The database cannot be reached right now' },
  internal_error: { status: 500, title: 'Internal error' },
} as const;

/** A code of the catalogue. */
export type ProblemCode = keyof typeof PROBLEMS;

/** One bad field or name. */
export interface ProblemFieldError {
  field: string;
  value?: string;
  message: string;
}

/** An RFC 9457 problem document as certkeeper sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  instance?: string;
  errors?: ProblemFieldError[];
}

/** The `type` URI of a code. */
export const problemType = (code: ProblemCode) => `urn:certkeeper:problem:${code}`;

/** Builds a problem document. */
export function problem(code: ProblemCode, detail: string, errors?: ProblemFieldError[], instance?: string): Problem {
  const entry = PROBLEMS[code];
  return {
    type: problemType(code),
    title: entry.title,
    status: entry.status,
    detail,
    code,
    ...(instance ? { instance } : {}),
    ...(errors && errors.length ? { errors } : {}),
  };
}
