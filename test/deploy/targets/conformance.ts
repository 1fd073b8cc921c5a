/**
 * The conformance suite every agentless deployment target runs (STYLE.md habit 4): its manifest is
 * registered and validates what it documents; a deployment puts the version in place and a second
 * one replaces it (checked at the source of truth: the files, the receiver, the API server's
 * state); `servedSerial`, where offered, reports what is deployed; a deployment that cannot
 * succeed throws a DeployError; no message or output ever carries a secret.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { DomainError } from '../../../src/domain-error.js';
import { DEPLOY_TARGETS } from '../../../src/deploy/targets/index.js';
import { DeployError, type DeployTarget, type TargetManifest } from '../../../src/deploy/types.js';
import { makeMaterial, pemBodyLines, type TestMaterial } from './material.js';

/** What a target's test supplies. */
export interface TargetConformanceSetup {
  manifest: TargetManifest;
  settings: Record<string, unknown>;
  credentials: Record<string, string>;
  allowPrivateAddresses: boolean;
  /** The serial of what the destination holds now, read from the source of truth (undefined: nothing). */
  deployedSerial(): Promise<string | undefined>;
  /** Settings and credentials of a target whose deployment MUST fail (bad credentials, a failing command). */
  bad: { settings: Record<string, unknown>; credentials: Record<string, string> };
  /** Strings that MUST NOT appear in any message or output (the material's key is added). */
  secrets: string[];
  teardown(): Promise<void>;
}

/** A quiet logger for targets under test. */
export const testLogger = pino({ level: 'silent' });

/** Builds a target from a manifest as the orchestrator does. */
export function createTarget(manifest: TargetManifest, settings: Record<string, unknown>, credentials: Record<string, string>, allowPrivateAddresses: boolean): DeployTarget {
  return manifest.create({ settings, credentials, allowPrivateAddresses, logger: testLogger });
}

/**
 * Asserts that no secret (nor any base64 line of one) is in `text`. `publicTexts`: certificates,
 * whose public key may share a base64 line with the private key's PKCS#8 (see pemBodyLines).
 */
export function assertNoSecret(text: string | undefined, secrets: readonly string[], what: string, publicTexts: readonly string[] = []): void {
  if (!text) return;
  const flat = text.replace(/\\n/g, '\n');
  for (const s of secrets) {
    assert.ok(!flat.includes(s.trim()), `${what} carries a secret`);
    for (const line of pemBodyLines(s, publicTexts)) assert.ok(!flat.includes(line), `${what} carries a line of a secret`);
  }
}

/** Registers the suite for target `code`. `setup` runs once before the tests. */
export function deployTargetConformance(code: string, setup: () => Promise<TargetConformanceSetup>): void {
  describe(`${code}: deployment target conformance`, () => {
    let s: TargetConformanceSetup;
    let v1: TestMaterial;
    let v2: TestMaterial;
    const signal = () => AbortSignal.timeout(60_000);
    before(async () => {
      s = await setup();
      v1 = makeMaterial('conformance.deploy.test', ['alt.conformance.deploy.test']);
      v2 = makeMaterial('conformance.deploy.test', ['alt.conformance.deploy.test']);
    });
    after(async () => {
      await s?.teardown();
    });
    const secrets = () => [...s.secrets, v1.privateKeyPem!, v2.privateKeyPem!];
    const pub = () => [v1.fullchainPem, v2.fullchainPem];

    test('the manifest is registered under its code and documents its required fields', () => {
      assert.equal(s.manifest.code, code);
      assert.equal(DEPLOY_TARGETS.get(code), s.manifest);
      assert.ok(s.manifest.title);
      for (const [name, spec] of [...Object.entries(s.manifest.settings), ...Object.entries(s.manifest.credentials)]) {
        assert.ok(spec.description.length > 10, `${name} has a description`);
      }
    });

    test('validate: the working settings are valid; empty ones name every required field; no secret is echoed', () => {
      assert.deepEqual(s.manifest.validate(s.settings, s.credentials), []);
      const errors = s.manifest.validate({}, {});
      const fields = new Set(errors.map((e) => e.field));
      for (const [name, spec] of Object.entries(s.manifest.settings)) if (spec.required) assert.ok(fields.has(`settings.${name}`), `settings.${name} reported`);
      for (const [name, spec] of Object.entries(s.manifest.credentials)) if (spec.required) assert.ok(fields.has(`credentials.${name}`), `credentials.${name} reported`);
      const nonsense = Object.fromEntries(Object.keys(s.manifest.settings).map((k) => [k, 'not valid here']));
      for (const e of s.manifest.validate(nonsense, s.credentials)) assertNoSecret(`${e.field} ${e.message}`, secrets(), 'a validation message', pub());
    });

    test('create refuses invalid settings with a validation_failed DomainError', () => {
      assert.throws(() => createTarget(s.manifest, {}, {}, s.allowPrivateAddresses), (err: unknown) => err instanceof DomainError && err.code === 'validation_failed' && err.errors.length > 0);
    });

    test('deploy puts the version in place; a second version replaces it; servedSerial agrees', async () => {
      const target = createTarget(s.manifest, s.settings, s.credentials, s.allowPrivateAddresses);
      try {
        const first = await target.deploy(v1, signal());
        assert.ok(first.message.length > 0);
        assertNoSecret(first.message, secrets(), 'the outcome message', pub());
        assertNoSecret(first.output, secrets(), 'the outcome output', pub());
        assert.equal(await s.deployedSerial(), v1.serialNumber);
        if (target.servedSerial) assert.equal(await target.servedSerial(v1, signal()), v1.serialNumber);
        const second = await target.deploy(v2, signal());
        assert.ok(second.message.length > 0);
        assert.equal(await s.deployedSerial(), v2.serialNumber);
        if (target.servedSerial) assert.equal(await target.servedSerial(v2, signal()), v2.serialNumber);
      } finally {
        await target.close?.();
      }
    });

    test('a deployment that cannot succeed throws a DeployError without secrets', async () => {
      const target = createTarget(s.manifest, s.bad.settings, s.bad.credentials, s.allowPrivateAddresses);
      const err = await target.deploy(v1, signal()).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof DeployError, `expected a DeployError, got ${String(err)}`);
      assert.ok(err.message.startsWith(`${code}: `), `the message names the target type: ${err.message}`);
      assertNoSecret(err.message, secrets(), 'the error message', pub());
      assertNoSecret(err.output, secrets(), 'the error output', pub());
      await target.close?.();
    });
  });
}
