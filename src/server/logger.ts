/** The process logger: JSON lines, with every field that could carry a secret redacted. */
import { pino, stdSerializers, type Logger } from 'pino';

/**
 * Field names (compared case-insensitively) that hold a secret wherever they appear, at any
 * depth: passwords, tokens, keys, credentials, and the HTTP headers that carry them. Every
 * write-only API field (DESIGN.md) is here.
 */
export const SECRET_FIELDS = [
  'password', 'currentPassword', 'newPassword', 'smtpPassword',
  'token', 'apiToken', 'botToken', 'sessionToken', 'csrfToken', 'adminToken', 'invitation',
  'secret', 'keySecret', 'hmacKey', 'clientSecret', 'secretAccessKey', 'tsigSecret', 'apiKey',
  'privateKey', 'accountKey', 'masterKey', 'pkcs12', 'credentials',
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-csrf-token', 'x-api-key',
] as const;

const SECRET = new Set(SECRET_FIELDS.map((f) => f.toLowerCase()));
const CENSOR = '[redacted]';

/**
 * Paths pino censors in what the serializers produce (Fastify's `req`/`res`, errors). They never
 * nest in one another: pino's redaction censors in place and restores afterwards, and a path
 * inside another censored path is then left censored in the caller's own object.
 */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]', 'req.headers["x-api-key"]', 'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
];

const isPlain = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * A copy of `value` with every secret field censored, at any depth: plain objects and arrays are
 * copied (the caller's object is never changed); other objects (errors, buffers, requests) are
 * left to their serializers.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 12) return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  if (!isPlain(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET.has(k.toLowerCase()) && v !== undefined && v !== null ? CENSOR : redactSecrets(v, depth + 1);
  return out;
}

/** Creates the logger at `level`, writing to `destination` (stdout by default). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({
    level,
    base: { service: 'certkeeper' },
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    formatters: {
      log: (object) => redactSecrets(object) as Record<string, unknown>,
      bindings: (bindings) => redactSecrets(bindings) as Record<string, unknown>,
    },
    // The standard error serializer returns a non-plain object: copy it so its fields are checked too.
    serializers: { err: (err: Error) => redactSecrets({ ...stdSerializers.err(err) }) },
  }, destination as any);
}
