// The official socket.io-client, websocket only (no polling first), against chatkit's own
// websocket transport: connect with auth, join with an ack, receive a new_message posted over
// REST, live through PINGS server pings (answering each), then a server-side close.
// Input (env): CHATKIT_URL, TOKEN, CONVERSATION_ID, PINGS. Output: one JSON line on stdout.
import { io } from 'socket.io-client';

const base = process.env.CHATKIT_URL;
const seen = { pings: 0 };
const timer = setTimeout(() => finish(1, 'timed out'), 20000);

function finish(code, reason) {
  clearTimeout(timer);
  seen.reason = reason;
  process.stdout.write(JSON.stringify(seen) + '\n');
  process.exit(code);
}

const socket = io(`${base}/chat`, {
  transports: ['websocket'],
  auth: { token: process.env.TOKEN },
  reconnection: false,
});
socket.io.engine?.on('ping', () => { seen.pings += 1; });
socket.on('connect', async () => {
  seen.transport = socket.io.engine.transport.name;
  socket.io.engine.on('ping', () => {
    seen.pings += 1;
    if (seen.pings >= Number(process.env.PINGS) && seen.message) finish(0, 'done');
  });
  seen.joinAck = await socket.timeout(5000).emitWithAck(
    'join_conversation', { conversationId: process.env.CONVERSATION_ID });
  const response = await fetch(
    `${base}/api/conversations/${process.env.CONVERSATION_ID}/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${process.env.TOKEN}` },
      body: JSON.stringify({ content: 'over the lean websocket' }),
    });
  seen.postStatus = response.status;
});
socket.on('new_message', ({ message }) => {
  seen.message = message.content;
  if (seen.pings >= Number(process.env.PINGS)) finish(0, 'done');
});
socket.on('connect_error', (error) => finish(1, `connect_error: ${error.message}`));
socket.on('disconnect', (reason) => finish(1, `disconnect: ${reason}`));
