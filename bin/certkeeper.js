#!/usr/bin/env node
import 'reflect-metadata';
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  console.error(err?.message ?? err);
  process.exitCode = 1;
});
