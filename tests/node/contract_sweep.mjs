// One connection, 100 acked events back to back, as a test harness sweeping payloads would
// send them. Input (env): CHATKIT_URL, TRANSPORT, PROBE_INPUT (JSON: token, conversationId).
// Output: {"acks": [...]} in order.
import { io } from 'socket.io-client';

const input = JSON.parse(process.env.PROBE_INPUT);
const transports = process.env.TRANSPORT === 'websocket' ? ['websocket'] : undefined;
const socket = io(`${process.env.CHATKIT_URL}/chat`, {
  transports,
  auth: { token: input.token },
  reconnection: false,
});
const timer = setTimeout(() => process.exit(1), 30000);
await new Promise((resolve, reject) => {
  socket.once('connect', resolve);
  socket.once('connect_error', reject);
});
const acks = [];
for (let i = 0; i < 100; i += 1) {
  const payload = i % 2 ? { conversationId: input.conversationId } : { conversationId: i };
  acks.push(await socket.timeout(5000).emitWithAck('join_conversation', payload));
}
clearTimeout(timer);
socket.disconnect();
process.stdout.write(JSON.stringify({ acks }) + '\n');
process.exit(0);
