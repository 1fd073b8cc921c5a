/**
 * The client commands of `certkeeper`: `providers`, `dns-zones`, `auto-certificates`,
 * `certificates`, `agents`, `deployment-targets`, `deployments`, `notification-channels`, `events`,
 * `tokens` and `users`, each a thin layer over the REST API (docs/cli.md is their reference).
 */
import type { Command } from 'commander';
import { registerAgentCommands } from './agents-commands.js';
import { registerAutoCertificateCommands } from './auto-certificates-commands.js';
import { registerCertificateCommands } from './certificates-commands.js';
import { registerDeploymentTargetCommands } from './deployment-targets-commands.js';
import { registerDeploymentCommands } from './deployments-commands.js';
import { registerDnsZoneCommands } from './dns-zones-commands.js';
import { registerEventCommands } from './events-commands.js';
import { registerNotificationChannelCommands } from './notification-channels-commands.js';
import { registerProviderCommands } from './providers-commands.js';
import { registerTokenCommands } from './tokens-commands.js';
import { registerUserCommands } from './users-commands.js';

/** Adds the client commands to `program`. */
export function registerClientCommands(program: Command): void {
  registerProviderCommands(program);
  registerDnsZoneCommands(program);
  registerAutoCertificateCommands(program);
  registerCertificateCommands(program);
  registerAgentCommands(program);
  registerDeploymentTargetCommands(program);
  registerDeploymentCommands(program);
  registerNotificationChannelCommands(program);
  registerEventCommands(program);
  registerTokenCommands(program);
  registerUserCommands(program);
  program.addHelpText('after', `
Client commands talk to a certkeeper server: --server <url> (or CERTKEEPER_SERVER), --token <token>
(or CERTKEEPER_TOKEN, CERTKEEPER_ADMIN_TOKEN), else "server:" and "token:" in ~/.config/certkeeper/cli.yaml.
Add --json to any of them for the raw API response. Exit code 0 on success, 1 on an error or a FAILED
resource or deployment, 2 when --wait runs out of time, 3 when "auto-certificates verify" finds the manual challenges
not visible yet.`);
}
