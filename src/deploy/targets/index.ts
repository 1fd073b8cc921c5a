/**
 * Every agentless deployment target, by `type`. Adding one: a folder with a manifest, and a line
 * here. (Type `agent` is not here: the agent deploys on its own host and reports back.)
 */
import type { TargetManifest } from '../types.js';
import { manifest as kubernetesSecret } from './kubernetes-secret/index.js';
import { manifest as script } from './script/index.js';
import { manifest as ssh } from './ssh/index.js';
import { manifest as webhook } from './webhook/index.js';

const manifests: TargetManifest[] = [kubernetesSecret, script, ssh, webhook];

/** The registered agentless targets, by code. */
export const DEPLOY_TARGETS: ReadonlyMap<string, TargetManifest> = new Map(manifests.map((m) => [m.code, m]));
