import type { CustomRoute } from '@slack/bolt';

/** `GET /healthz`: the process is up and serving HTTP. */
export function healthRoutes(): CustomRoute[] {
  return [
    {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok' }));
      },
    },
  ];
}
