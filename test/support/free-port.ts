import * as net from 'node:net';

/**
 * Asks the OS for a currently unused TCP port on 127.0.0.1.
 *
 * Listens on port 0, reads the assigned port and closes the listener again. The
 * port is free at the moment of return; another process could still grab it
 * before the caller binds, so callers that spawn servers should retry on
 * "address in use".
 */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`freePort: unexpected server address ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
