// Connection lifecycle rules of the contract, with the official socket.io-client.
// Input (env): CHATKIT_URL, TRANSPORT ("default" or "websocket"), PROBE_INPUT (JSON:
// shortToken (expires in a few seconds), mentorToken, menteeToken, sessionId).
// Output: one JSON object of what was observed.
import { base, finish, giveUpAfter, input, seen, socketTo } from './probe.mjs';

giveUpAfter(30000);

function open(token) {
  const socket = socketTo({ auth: { token } });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

function nextEvent(socket, name, ms) {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), ms);
    socket.once(name, (payload) => {
      clearTimeout(t);
      resolve(payload === undefined ? true : payload);
    });
  });
}

async function call(method, path, token, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

try {
  const short = await open(input.shortToken);
  const expired = nextEvent(short, 'disconnect', 15000);

  // Both participants are connected before their conversation exists.
  const mentor = await open(input.mentorToken);
  const mentee = await open(input.menteeToken);
  const created = await call('POST', '/api/conversations/by-session', input.mentorToken, {
    sessionId: input.sessionId,
  });
  seen.createdStatus = created.status;
  const atMentee = nextEvent(mentee, 'new_message', 5000);
  const atMentor = nextEvent(mentor, 'new_message', 5000);
  seen.post = await call('POST', `/api/conversations/${created.body.id}/messages`, input.mentorToken, {
    content: 'first',
  });
  seen.newMessageAtMentee = await atMentee;
  seen.newMessageAtMentor = await atMentor;
  seen.again = await call('POST', '/api/conversations/by-session', input.menteeToken, {
    sessionId: input.sessionId,
  });

  seen.expiredDisconnect = await expired;
  seen.shortConnected = short.connected;
  finish(0, 'ok');
} catch (err) {
  seen.exception = String(err && err.stack ? err.stack : err);
  finish(2, 'exception');
}
