/** The process logger: JSON lines, with every field that could carry a secret redacted. */
import { pino, type Logger } from 'pino';

/** Paths pino censors wherever they appear in a log record. */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie',
  '*.privateKey', '*.keySecret', '*.password', '*.pkcs12', '*.token', '*.apiKey', '*.tsigSecret', '*.secretAccessKey', '*.clientSecret',
  'privateKey', 'keySecret', 'password', 'pkcs12', 'token', 'hmacKey', '*.hmacKey',
];

/** Creates the logger at `level`, writing to `destination` (stdout by default). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'certkeeper' } }, destination as any);
}
