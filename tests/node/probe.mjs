// What the black-box probes share (contract_probe.mjs, contract_lifecycle.mjs): their input,
// the transport they were asked for, and one way to end, printing what was observed as one
// JSON object and closing every socket they opened.
// Input (env): CHATKIT_URL, TRANSPORT ("default" = polling then upgrade, or "websocket"),
// PROBE_INPUT (JSON).
import { io } from 'socket.io-client';

export const base = process.env.CHATKIT_URL;
export const input = JSON.parse(process.env.PROBE_INPUT);
export const seen = {};
const transports = process.env.TRANSPORT === 'websocket' ? ['websocket'] : undefined;
const sockets = [];
let timer;

// Give up with exit code 1 after `ms`, reporting what was seen so far.
export function giveUpAfter(ms) {
  timer = setTimeout(() => finish(1, 'timed out'), ms);
}

export function finish(code, reason) {
  clearTimeout(timer);
  seen.reason = reason;
  for (const s of sockets) s.disconnect();
  process.stdout.write(JSON.stringify(seen) + '\n');
  process.exit(code);
}

// A new socket on /chat over the transport asked for, without reconnection.
export function socketTo(options) {
  const socket = io(`${base}/chat`, { transports, reconnection: false, forceNew: true, ...options });
  sockets.push(socket);
  return socket;
}
