/** The `certkeeper` command: `serve`, and client commands over the REST API. */
import { Command } from 'commander';
import { registerClientCommands } from './client-commands.js';
import { registerAdminCommands } from './admin-commands.js';

/** Entry point of bin/certkeeper.js. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('certkeeper')
    .description('Self-hosted certificate lifecycle manager')
    .showHelpAfterError();
  program.command('serve')
    .description('run the API, web UI, http-01 responder and workers (configured by CERTKEEPER_* environment variables)')
    .option('--demo', 'start a local Pebble ACME CA (Debian package "pebble") and create a provider for it')
    .action(async (opts: { demo?: boolean }) => {
      // Loaded here, not at the top: client commands must not pay for the server's start-up.
      const { loadConfig, ConfigError } = await import('../config/config.js');
      const { startServer } = await import('../server/serve.js');
      let config;
      try {
        config = loadConfig();
        if (opts.demo) config.allowPrivateAddresses = true;
      } catch (err) {
        if (err instanceof ConfigError) {
          console.error(`certkeeper: ${err.message}`);
          process.exit(2);
        }
        throw err;
      }
      let server;
      try {
        server = await startServer(config);
      } catch (err) {
        // Found only at start (a TLS file pair that does not fit): said as plainly as loadConfig's.
        if (err instanceof ConfigError) {
          console.error(`certkeeper: ${err.message}`);
          process.exit(2);
        }
        throw err;
      }
      let demo: { stop(): Promise<void> } | null = null;
      if (opts.demo) {
        const { startDemo } = await import('../server/demo.js');
        demo = await startDemo(server);
      }
      const shutdown = async (signal: string) => {
        server.ctx.logger.info({ signal }, 'shutting down');
        await server.stop();
        await demo?.stop();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
    });
  program.command('agent')
    .description('run the deployment agent on an end server: enrol, fetch certificates, write files, reload, report (see docs/agent.md)')
    .option('--server <url>', 'certkeeper server URL (env CERTKEEPER_AGENT_SERVER)')
    .option('--token <token>', 'one-time enrolment token, or an agent credential, used when none is stored (env CERTKEEPER_AGENT_TOKEN)')
    .option('--token-file <path>', 'file holding the token (env CERTKEEPER_AGENT_TOKEN_FILE)')
    .option('--state-dir <dir>', 'where the credential and agent-generated keys live (env CERTKEEPER_AGENT_STATE_DIR; default /var/lib/certkeeper-agent, %ProgramData%\\certkeeper-agent on Windows)')
    .option('--ca-file <pem>', 'extra CA certificate(s) to trust for the server (env CERTKEEPER_AGENT_CA_FILE)')
    .option('--http01-listen <host:port>', 'answer http-01 challenges on this address (env CERTKEEPER_AGENT_HTTP01_LISTEN)')
    .option('--http01-webroot <dir>', 'answer http-01 challenges with files under <dir>/.well-known/acme-challenge (env CERTKEEPER_AGENT_HTTP01_WEBROOT)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env CERTKEEPER_AGENT_LOG_LEVEL; default info)')
    .action(async (opts: import('../agent/options.js').AgentFlags) => {
      // Loaded here, not at the top: other commands must not pay for the agent's start-up.
      const { agentCommand } = await import('../agent/main.js');
      process.exit(await agentCommand(opts));
    });
  registerClientCommands(program);
  registerAdminCommands(program);
  await program.parseAsync(argv);
}
