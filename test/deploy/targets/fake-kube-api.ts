/**
 * A fake Kubernetes API server for the `kubernetes-secret` target: HTTPS on 127.0.0.1 with a
 * self-signed certificate, serving the core/v1 Secret endpoints as documented
 * (https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/secret-v1/):
 * GET …/namespaces/{ns}/secrets/{name}, POST …/namespaces/{ns}/secrets, PUT …/secrets/{name}.
 * It checks the bearer token (401), answers failures as `Status` objects, refuses a POST of an
 * existing name (409 AlreadyExists), a PUT whose resourceVersion is stale (409 Conflict) or
 * missing (422), and a change of `type` (422, the field is immutable). Every request is recorded.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSelfSignedCertificate } from '../../../src/pki/self-signed.js';

/** A stored Secret (as the API server returns it). */
export interface FakeSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  type: string;
  data?: Record<string, string>;
  immutable?: boolean;
}

/** One request the fake received. */
export interface KubeRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

/** A running fake. */
export interface FakeKubeApi {
  url: string;
  /** PEM of the server's self-signed certificate (the target's caCertificate). */
  caCertificate: string;
  token: string;
  requests: KubeRequest[];
  /** Secrets by `namespace/name`. */
  secrets: Map<string, FakeSecret>;
  /** Stores a Secret directly (as if another client made it). */
  seed(secret: Omit<FakeSecret, 'apiVersion' | 'kind' | 'metadata'> & { metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> } }): FakeSecret;
  /** Runs once before the next `n` PUTs are handled (e.g. to simulate a concurrent change). */
  beforePut(n: number, fn: (key: string) => void): void;
  /** Bumps a Secret's resourceVersion, as a write by someone else would. */
  touch(key: string): void;
  close(): Promise<void>;
}

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

/** Starts the fake. */
export async function startFakeKubeApi(token: string): Promise<FakeKubeApi> {
  const tls = await createSelfSignedCertificate('127.0.0.1', ['127.0.0.1'], 2);
  const requests: KubeRequest[] = [];
  const secrets = new Map<string, FakeSecret>();
  let version = 1000;
  let uid = 0;
  const putHooks: { left: number; fn: (key: string) => void }[] = [];
  const nextVersion = () => String(++version);

  const server: Server = createServer({ cert: tls.certificatePem, key: tls.privateKeyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const path = req.url ?? '/';
      requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
      const send = (code: number, obj: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
      const item = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/?]+)$/.exec(path);
      const collection = /^\/api\/v1\/namespaces\/([^/]+)\/secrets$/.exec(path);
      if (req.method === 'GET' && item) {
        const found = secrets.get(`${item[1]}/${item[2]}`);
        return found ? send(200, found) : send(404, status(404, 'NotFound', `secrets "${item[2]}" not found`));
      }
      if (req.method === 'POST' && collection) {
        const b = body as Partial<FakeSecret> | undefined;
        const ns = collection[1]!;
        if (!b || b.kind !== 'Secret' || b.apiVersion !== 'v1' || !b.metadata?.name) return send(400, status(400, 'BadRequest', 'the body must be a v1 Secret with metadata.name'));
        if (b.metadata.namespace && b.metadata.namespace !== ns) return send(400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
        const key = `${ns}/${b.metadata.name}`;
        if (secrets.has(key)) return send(409, status(409, 'AlreadyExists', `secrets "${b.metadata.name}" already exists`));
        const stored: FakeSecret = {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { ...b.metadata, name: b.metadata.name, namespace: ns, uid: `uid-${++uid}`, resourceVersion: nextVersion(), creationTimestamp: new Date().toISOString() },
          type: b.type ?? 'Opaque',
          ...(b.data ? { data: b.data } : {}),
        };
        secrets.set(key, stored);
        return send(201, stored);
      }
      if (req.method === 'PUT' && item) {
        const key = `${item[1]}/${item[2]}`;
        const hook = putHooks[0];
        if (hook) {
          hook.fn(key);
          if (--hook.left === 0) putHooks.shift();
        }
        const current = secrets.get(key);
        if (!current) return send(404, status(404, 'NotFound', `secrets "${item[2]}" not found`));
        const b = body as Partial<FakeSecret> | undefined;
        if (!b || b.kind !== 'Secret' || !b.metadata || b.metadata.name !== item[2]) return send(400, status(400, 'BadRequest', 'the name of the object does not match the name on the URL'));
        if (!b.metadata.resourceVersion) return send(422, status(422, 'Invalid', 'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update'));
        if (b.metadata.resourceVersion !== current.metadata.resourceVersion) {
          return send(409, status(409, 'Conflict', `Operation cannot be fulfilled on secrets "${item[2]}": the object has been modified; please apply your changes to the latest version and try again`));
        }
        if ((b.type ?? 'Opaque') !== current.type) return send(422, status(422, 'Invalid', `Secret "${item[2]}" is invalid: type: Invalid value: "${b.type}": field is immutable`));
        const stored: FakeSecret = {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { ...b.metadata, name: current.metadata.name, namespace: current.metadata.namespace, uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp, resourceVersion: nextVersion() },
          type: current.type,
          ...(b.data ? { data: b.data } : {}),
        };
        secrets.set(key, stored);
        return send(200, stored);
      }
      return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    caCertificate: tls.certificatePem,
    token,
    requests,
    secrets,
    seed(s) {
      const stored: FakeSecret = {
        apiVersion: 'v1',
        kind: 'Secret',
        ...s,
        metadata: { ...s.metadata, uid: `uid-${++uid}`, resourceVersion: nextVersion(), creationTimestamp: new Date().toISOString() },
      };
      secrets.set(`${s.metadata.namespace}/${s.metadata.name}`, stored);
      return stored;
    },
    beforePut(n, fn) {
      putHooks.push({ left: n, fn });
    },
    touch(key) {
      const s = secrets.get(key);
      if (s) s.metadata.resourceVersion = nextVersion();
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
