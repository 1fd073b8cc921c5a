/** Validates a zone's settings and credentials against its provider's manifest, naming each bad field. */
import type { FieldError } from '../domain-error.js';
import type { DnsProviderManifest, FieldSpec } from './provider-manifest.js';

function checkField(spec: FieldSpec, value: unknown, path: string, errors: FieldError[]): unknown {
  if (value === undefined || value === null || value === '') {
    if (spec.required) errors.push({ field: path, message: `required: ${spec.description}` });
    return spec.default;
  }
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') errors.push({ field: path, message: 'expected a string' });
      else if (spec.enum && !spec.enum.includes(value)) errors.push({ field: path, value, message: `expected one of ${spec.enum.join(', ')}` });
      break;
    case 'integer':
      if (!Number.isInteger(value)) errors.push({ field: path, message: 'expected an integer' });
      break;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push({ field: path, message: 'expected true or false' });
      break;
    case 'string[]':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) errors.push({ field: path, message: 'expected a list of strings' });
      break;
  }
  return value;
}

/** Returns settings with defaults applied; pushes an error per bad, missing or unknown field. */
export function checkProviderConfig(
  manifest: DnsProviderManifest,
  settings: Record<string, unknown>,
  credentials: Record<string, unknown> | undefined,
  errors: FieldError[],
): { settings: Record<string, unknown>; credentials: Record<string, string> } {
  const outSettings: Record<string, unknown> = {};
  const known = new Set(manifest.settings.map((f) => f.name));
  for (const key of Object.keys(settings)) {
    if (!known.has(key)) errors.push({ field: `properties.settings.${key}`, message: `unknown setting for ${manifest.code}; known: ${[...known].join(', ') || 'none'}` });
  }
  for (const spec of manifest.settings) {
    const v = checkField(spec, settings[spec.name], `properties.settings.${spec.name}`, errors);
    if (v !== undefined) outSettings[spec.name] = v;
  }
  const outCredentials: Record<string, string> = {};
  const creds = credentials ?? {};
  const openCredentials = manifest.anyCredentials === true;
  const knownCreds = new Set(manifest.credentials.map((f) => f.name));
  for (const [key, v] of Object.entries(creds)) {
    if (!openCredentials && !knownCreds.has(key)) errors.push({ field: `properties.credentials.${key}`, message: `unknown credential for ${manifest.code}; known: ${[...knownCreds].join(', ') || 'none'}` });
    else if (typeof v !== 'string') errors.push({ field: `properties.credentials.${key}`, message: 'expected a string' });
    else outCredentials[key] = v;
  }
  const anyGiven = Object.keys(creds).length > 0;
  // `undefined` means "keep the stored credentials" (a change that does not touch them): nothing to require.
  if (credentials !== undefined) for (const spec of manifest.credentials) {
    if (spec.required && !creds[spec.name] && !(manifest.credentialsOptional && !anyGiven)) {
      errors.push({ field: `properties.credentials.${spec.name}`, message: `required: ${spec.description}` });
    }
  }
  return { settings: outSettings, credentials: outCredentials };
}
