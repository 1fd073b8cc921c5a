/**
 * The deployment probe: connects with TLS to where a certificate was deployed and reads the serial
 * the server presents, so a deployment is only called done once the new certificate is served.
 * Shared by the agent and the agentless targets (ssh). Trust is not checked (we compare serials).
 */
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import type { ProbeSettings } from './types.js';

/** Seconds one connection attempt may take (handshake included). */
const CONNECT_TIMEOUT_MS = 5000;

/** A serial as lower-case hex without separators or leading zeros ("0" for zero). */
export function normaliseSerial(serial: string): string {
  const hex = serial.trim().toLowerCase().replace(/^0x/, '').replace(/[^0-9a-f]/g, '');
  const stripped = hex.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}

/** Whether two serials are the same number, whatever their notation (case, colons, leading zeros). */
export function sameSerial(a: string, b: string): boolean {
  return normaliseSerial(a) === normaliseSerial(b);
}

/**
 * Connects once to `probe.host:probe.port` (SNI `probe.serverName`, else `serverNameDefault`) and
 * returns the normalised serial of the certificate the peer presents. Throws an Error naming the
 * address on connect failure, handshake failure, timeout, or when no certificate is presented.
 */
export async function probeServedSerial(probe: ProbeSettings, serverNameDefault: string, signal: AbortSignal): Promise<string> {
  signal.throwIfAborted();
  const serverName = probe.serverName ?? serverNameDefault;
  const where = `${probe.host}:${probe.port}${serverName ? ` (SNI ${serverName})` : ''}`;
  return await new Promise<string>((resolve, reject) => {
    const socket: TLSSocket = connect({
      host: probe.host,
      port: probe.port,
      // RFC 6066 §3: SNI carries host names only, never IP literals.
      ...(serverName && isIP(serverName) === 0 ? { servername: serverName } : {}),
      rejectUnauthorized: false,
    });
    let settled = false;
    const finish = (err: Error | null, serial?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(serial as string);
    };
    const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error('probe aborted'));
    const timer = setTimeout(() => finish(new Error(`probe of ${where}: no TLS handshake within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      if (!cert || !cert.serialNumber) finish(new Error(`probe of ${where}: the server presented no certificate`));
      else finish(null, normaliseSerial(cert.serialNumber));
    });
    socket.once('error', (err) => finish(new Error(`probe of ${where} failed: ${err.message}`)));
  });
}

/** Pause between probes, and between a first match and its confirmation. */
const PROBE_INTERVAL_MS = 250;

/**
 * Probes until the served serial equals `expected` or `probe.timeoutSeconds` (default 10) pass.
 * A match counts once a second probe a moment later confirms it: while a server reloads (nginx
 * starts new workers before it retires the old ones) connections can still reach the old
 * certificate. Returns the last serial seen (normalised) and whether it matched; throws the last
 * connect error when no probe ever got a serial.
 */
export async function waitForServedSerial(
  probe: ProbeSettings, serverNameDefault: string, expected: string, signal: AbortSignal,
): Promise<{ matched: boolean; servedSerial: string }> {
  const deadline = Date.now() + (probe.timeoutSeconds ?? 10) * 1000;
  let lastSerial: string | undefined;
  let lastError: unknown;
  let matches = 0;
  for (;;) {
    try {
      lastSerial = await probeServedSerial(probe, serverNameDefault, signal);
      matches = sameSerial(lastSerial, expected) ? matches + 1 : 0;
      if (matches >= 2) return { matched: true, servedSerial: lastSerial };
    } catch (err) {
      signal.throwIfAborted();
      lastError = err;
      matches = 0;
    }
    if (Date.now() + PROBE_INTERVAL_MS >= deadline) break;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, PROBE_INTERVAL_MS);
      function done() { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
      signal.addEventListener('abort', done, { once: true });
    });
    signal.throwIfAborted();
  }
  if (lastSerial !== undefined) return { matched: matches > 0, servedSerial: lastSerial };
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
