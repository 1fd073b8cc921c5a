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
  registerClientCommands(program);
  registerAdminCommands(program);
  await program.parseAsync(argv);
}
