// The test harness's Pebble is the demo's: one launcher, in src/demo/local-pebble.ts.
export * from '../../src/demo/local-pebble.js';
