// Free loopback ports for test servers.
export { freePort } from '../../src/demo/free-port.js';
