// The peer for the fan-out benchmark: the usual Node answer to "push stock to every
// watcher" — one `ws` server that, on each change, serialises the state once and sends it
// to every open socket. POST /change makes one change and answers with the new count.
import http from 'node:http';
import { WebSocketServer } from 'ws';

let remaining = 1_000_000;
let seq = 0;
const state = () => ({ variants: [{ remaining }], seq, server_time: new Date().toISOString() });

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/change') {
    remaining -= 1;
    seq += 1;
    const msg = JSON.stringify({ topic: 'drop:peer', type: 'update', seq, data: state() });
    for (const c of wss.clients) if (c.readyState === 1) c.send(msg);
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ remaining }));
  } else {
    res.writeHead(404);
    res.end();
  }
});
const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  ws.on('message', () => ws.send(JSON.stringify({ topic: 'drop:peer', type: 'snapshot', seq, data: state() })));
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
