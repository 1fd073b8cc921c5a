/** Runs the CLI from source (`node --import tsx src/cli/run.ts …`); bin/certkeeper.js runs the build. */
import 'reflect-metadata';
import { main } from './main.js';

main(process.argv).catch((err: unknown) => {
  console.error(`error: ${(err as Error)?.message ?? String(err)}`);
  process.exitCode = 1;
});
