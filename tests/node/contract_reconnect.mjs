// Seed, "Reconnection: Socket.io handles reconnection automatically" and "Auto-join": the
// official client, left to its defaults, comes back after a server restart and receives the
// conversation's new_message without joining anything by hand.
// Input (env): CHATKIT_URL, TRANSPORT, PROBE_INPUT (JSON: token). Output: JSON lines
// {"step": "connected" | "reconnected" | "message", ...}; the test restarts the server
// between the first two and posts between the last two.
import { io } from 'socket.io-client';

const input = JSON.parse(process.env.PROBE_INPUT);
const transports = process.env.TRANSPORT === 'websocket' ? ['websocket'] : undefined;
const say = (line) => process.stdout.write(JSON.stringify(line) + '\n');
const timer = setTimeout(() => {
  say({ step: 'timeout' });
  process.exit(1);
}, 40000);

const socket = io(`${process.env.CHATKIT_URL}/chat`, {
  transports,
  auth: { token: input.token },
  reconnectionDelay: 100,
  reconnectionDelayMax: 500,
});
let connects = 0;
socket.on('connect', () => {
  connects += 1;
  say({ step: connects === 1 ? 'connected' : 'reconnected', recovered: socket.recovered });
});
socket.on('new_message', (payload) => {
  say({ step: 'message', payload });
  clearTimeout(timer);
  socket.disconnect();
  process.exit(0);
});
