/** The `script` deployment target: a local command receives the certificate as files. */
import type { TargetManifest } from '../../types.js';
import { FieldReader, MAX_TIMEOUT_SECONDS } from '../target-fields.js';
import { readScriptSettings, SCRIPT_DEFAULT_TIMEOUT_SECONDS, ScriptTarget } from './script-target.js';

/** The manifest of the `script` target. */
export const manifest: TargetManifest = {
  code: 'script',
  title: 'Local script',
  settings: {
    command: {
      required: true,
      description: 'The command to run, through /bin/sh -c (cmd.exe on Windows). It reads the files named by CERTKEEPER_CERTIFICATE_FILE, CERTKEEPER_CHAIN_FILE, CERTKEEPER_FULLCHAIN_FILE and CERTKEEPER_KEY_FILE; exit 0 means deployed.',
    },
    timeoutSeconds: { description: `Wall-clock limit, 1 to ${MAX_TIMEOUT_SECONDS} s (default ${SCRIPT_DEFAULT_TIMEOUT_SECONDS}); the command's process group is killed when it passes.` },
    workingDirectory: { description: 'Absolute path of the directory the command runs in (default: the temporary directory holding the files).' },
  },
  credentials: {},
  needsPrivateKey: true,
  validate(settings, credentials) {
    const r = new FieldReader(settings, credentials);
    readScriptSettings(r);
    return r.errors;
  },
  create({ settings, credentials }) {
    const r = new FieldReader(settings, credentials);
    const parsed = readScriptSettings(r);
    r.throwIfInvalid('script');
    return new ScriptTarget(parsed);
  },
};
