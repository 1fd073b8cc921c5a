/** Route schemas (TypeBox → JSON Schema): validation at the edge and the source of the OpenAPI document. */
import { Type, type TSchema } from 'typebox';
import { KEY_ALGORITHMS } from '../pki/key-algorithm.js';
import { DNS_PROVIDERS } from '../dns/providers/index.js';

const DNS_PROVIDER_CODES = [...DNS_PROVIDERS.keys()];

// Null first: the validator coerces types, and would turn null into "" (or 0) when the other type is tried first.
const Nullable = <T extends TSchema>(t: T) => Type.Union([Type.Null(), t]);
/**
 * One line of text: no control characters (NUL, CR, LF, …) and no lone UTF-16 surrogates (the
 * route validator compiles patterns with the `u` flag, where only unpaired surrogates match
 * `\ud800-\udfff`). Names and references are stored, logged and shown: none of them needs either.
 */
export const SINGLE_LINE = '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]*$';
const Str = (o: Record<string, unknown> = {}) => Type.String({ minLength: 1, maxLength: 1000, pattern: SINGLE_LINE, ...o });
const literalUnion = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** `:id` path parameter. */
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, pattern: SINGLE_LINE }) }, { additionalProperties: false });

/** The query of a route that takes none: any parameter is refused (see buildApp). */
export const NoQuery = Type.Object({}, { additionalProperties: false });

/** `?offset=&limit=` plus `filter.<field>=` keys (which fields a collection filters by is checked by its route). */
export const ListQuery = Type.Object({
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
}, {
  patternProperties: { '^filter\\.[A-Za-z][A-Za-z0-9_]{0,63}$': Type.String({ maxLength: 1000 }) },
  additionalProperties: false,
});

const ProviderWritable = {
  name: Str({ maxLength: 200, description: 'Unique name of the provider in the tenant' }),
  email: Type.Optional(Nullable(Type.String({ format: 'email', maxLength: 254, description: 'Contact e-mail registered with the CA' }))),
  server: Type.String({ minLength: 8, maxLength: 2000, description: 'ACME directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory' }),
  externalAccountBinding: Type.Optional(Nullable(Type.Object({
    keyId: Str({ maxLength: 500 }),
    keySecret: Str({ maxLength: 500, description: 'base64url HMAC key from the CA; write-only' }),
  }, { additionalProperties: false }))),
  profile: Type.Optional(Nullable(Str({ maxLength: 100, description: 'ACME profile to request (draft-ietf-acme-profiles)' }))),
  preferredChain: Type.Optional(Nullable(Str({ maxLength: 500, description: 'Issuer common name of the preferred alternate chain' }))),
  caCertificates: Type.Optional(Nullable(Type.String({ maxLength: 200_000, description: 'PEM roots to trust for the ACME server (private CAs)' }))),
};

/** POST /providers */
export const ProviderCreate = Type.Object({ properties: Type.Object(ProviderWritable, { additionalProperties: false }) }, { additionalProperties: false });
/** PATCH /providers/:id */
export const ProviderPatch = Type.Object({
  properties: Type.Object({
    name: Type.Optional(ProviderWritable.name),
    email: ProviderWritable.email,
    profile: ProviderWritable.profile,
    preferredChain: ProviderWritable.preferredChain,
    caCertificates: ProviderWritable.caCertificates,
  }, { additionalProperties: false }),
}, { additionalProperties: false });

const AutoWritable = {
  name: Str({ maxLength: 200 }),
  provider: Str({ maxLength: 200, description: 'Provider id or name' }),
  fallbackProviders: Type.Optional(Type.Array(Str({ maxLength: 200 }), { maxItems: 10 })),
  commonName: Str({ maxLength: 300 }),
  subjectAlternativeNames: Type.Optional(Type.Array(Type.String({ maxLength: 300, pattern: SINGLE_LINE }), { maxItems: 99, description: 'Up to 99 more names; wildcards only with dns-01' })),
  keyAlgorithm: Type.Optional(literalUnion(KEY_ALGORITHMS)),
  challengeType: Type.Optional(literalUnion(['dns-01', 'http-01', 'manual-dns-01', 'manual-http-01'])),
  keyPolicy: Type.Optional(literalUnion(['rotate', 'reuse'])),
  renewBeforeDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 365 }))),
  profile: Type.Optional(Nullable(Str({ maxLength: 100 }))),
  deploymentTargets: Type.Optional(Type.Array(Str({ maxLength: 200 }), { maxItems: 50, description: 'Deployment targets (ids or names) every new version is deployed to' })),
  keyAgent: Type.Optional(Nullable(Str({ maxLength: 200, description: 'Agent (id or name) that generates and keeps the private key: the key never leaves that host, and the server holds none' }))),
};

/** POST /auto-certificates */
export const AutoCreate = Type.Object({ properties: Type.Object(AutoWritable, { additionalProperties: false }) }, { additionalProperties: false });
/** PATCH /auto-certificates/:id */
export const AutoPatch = Type.Object({
  properties: Type.Object({
    name: Type.Optional(AutoWritable.name),
    provider: Type.Optional(AutoWritable.provider),
    fallbackProviders: AutoWritable.fallbackProviders,
    commonName: Type.Optional(AutoWritable.commonName),
    subjectAlternativeNames: AutoWritable.subjectAlternativeNames,
    keyAlgorithm: AutoWritable.keyAlgorithm,
    challengeType: AutoWritable.challengeType,
    keyPolicy: AutoWritable.keyPolicy,
    renewBeforeDays: AutoWritable.renewBeforeDays,
    profile: AutoWritable.profile,
    deploymentTargets: AutoWritable.deploymentTargets,
    keyAgent: AutoWritable.keyAgent,
  }, { additionalProperties: false }),
}, { additionalProperties: false });

/** POST /auto-certificates/:id/renew */
export const RenewBody = Type.Optional(Type.Object({ rekey: Type.Optional(Type.Boolean()) }, { additionalProperties: false }));

const PEM_LIMIT = 256 * 1024;
/** POST /certificates (import) */
export const CertificateImport = Type.Object({
  properties: Type.Object({
    name: Type.Optional(Str({ maxLength: 300 })),
    certificate: Type.Optional(Type.String({ maxLength: PEM_LIMIT, description: 'Leaf certificate, PEM (the chain may follow it)' })),
    certificateChain: Type.Optional(Type.String({ maxLength: PEM_LIMIT, description: 'Intermediate certificates, PEM, any order' })),
    privateKey: Type.Optional(Type.String({ maxLength: PEM_LIMIT, description: 'Private key, PEM (PKCS#8, PKCS#1 or SEC1); write-only' })),
    pkcs12: Type.Optional(Type.String({ maxLength: 1_400_000, description: 'PKCS#12 / PFX file, base64' })),
    password: Type.Optional(Type.String({ maxLength: 1000, description: 'PKCS#12 password; write-only' })),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

/** POST /certificates/:id/revoke */
export const RevokeBody = Type.Object({
  reason: Type.Optional(literalUnion(['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise'])),
  provider: Type.Optional(Str({ maxLength: 200, description: 'Provider whose CA issued an imported certificate' })),
  signWithCertificateKey: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

/** POST /certificates/:id/export */
export const ExportBody = Type.Object({
  format: literalUnion(['pem', 'pkcs12']),
  includePrivateKey: Type.Optional(Type.Boolean()),
  password: Type.Optional(Type.String({ minLength: 4, maxLength: 1000 })),
}, { additionalProperties: false });

const Problem = Type.Object({
  type: Type.String(), title: Type.String(), status: Type.Integer(), detail: Type.String(), code: Type.String(),
  instance: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), value: Type.Optional(Type.String()), message: Type.String() }))),
});

/** Standard error responses for the OpenAPI document. */
export const ProblemResponses = {
  400: { ...Problem, description: 'Invalid request (problem+json)' },
  401: { ...Problem, description: 'Missing or bad bearer token (problem+json)' },
  404: { ...Problem, description: 'No such resource (problem+json)' },
};

/** POST /auto-certificates/:id/verify */
export const VerifyBody = Type.Optional(Type.Object({ force: Type.Optional(Type.Boolean({ description: 'Skip certkeeper\'s own visibility check and let the CA validate now' })) }, { additionalProperties: false }));

/**
 * A setting's value: the field types of the provider manifests (string, integer, boolean,
 * string[]), or null. One multi-type schema rather than a union: with type coercion on, a union
 * would turn `true` into `"true"` in its first (string) branch; a type list coerces only a value
 * that matches none of its types.
 */
const SettingValue = Type.Unsafe<string | number | boolean | null | string[]>({
  type: ['string', 'number', 'boolean', 'null', 'array'],
  maxLength: 4000,
  maxItems: 100,
  items: { type: 'string', maxLength: 4000 },
});

const ZoneWritable = {
  zoneName: Str({ maxLength: 253, description: 'The zone, e.g. example.com' }),
  provider: literalUnion(DNS_PROVIDER_CODES.length ? DNS_PROVIDER_CODES : ['none']),
  settings: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,99}$' }), SettingValue, {
    additionalProperties: false, maxProperties: 50, description: 'Non-secret settings of the provider (see docs/dns-providers.md)',
  })),
  credentials: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,99}$' }), Type.String({ maxLength: 20_000 }), {
    additionalProperties: false, maxProperties: 50, description: 'Secrets of the provider; write-only, stored encrypted',
  })),
  enabled: Type.Optional(Type.Boolean()),
  resolvers: Type.Optional(Type.Array(Type.String({ maxLength: 100, pattern: SINGLE_LINE }), { maxItems: 10, description: 'host:port servers to check propagation at, instead of the zone\'s authoritative servers' })),
  propagationTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  extraDelaySeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 600 })),
};

/** POST /dns-zones */
export const ZoneCreate = Type.Object({ properties: Type.Object(ZoneWritable, { additionalProperties: false }) }, { additionalProperties: false });
/** PATCH /dns-zones/:id */
export const ZonePatch = Type.Object({
  properties: Type.Object({
    zoneName: Type.Optional(ZoneWritable.zoneName),
    provider: Type.Optional(ZoneWritable.provider),
    settings: ZoneWritable.settings,
    credentials: ZoneWritable.credentials,
    enabled: ZoneWritable.enabled,
    resolvers: ZoneWritable.resolvers,
    propagationTimeoutSeconds: ZoneWritable.propagationTimeoutSeconds,
    extraDelaySeconds: ZoneWritable.extraDelaySeconds,
  }, { additionalProperties: false }),
}, { additionalProperties: false });
