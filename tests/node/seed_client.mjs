// The seed's example client, run with the official socket.io-client against a chatkit server.
// Input (env): CHATKIT_URL, MENTEE_TOKEN, MENTOR_TOKEN, CONVERSATION_ID; with
// EARLIER_MESSAGE_ID (a message the mentor sent before) the mentor also edits and deletes it
// over REST, so that chatkit's extra events (message_updated, message_deleted, presence) flow
// past the unchanged example.
// Output: one JSON object on stdout with what each side saw; exit code 0 when all arrived.
import { io } from 'socket.io-client';

const base = process.env.CHATKIT_URL;            // http://127.0.0.1:PORT
const wsBase = base.replace(/^http/, 'ws');
const conversationId = process.env.CONVERSATION_ID;
const seen = { events: [], errors: [] };
const timer = setTimeout(() => finish(1, 'timed out'), 15000);

function finish(code, reason) {
  clearTimeout(timer);
  seen.reason = reason;
  process.stdout.write(JSON.stringify(seen) + '\n');
  process.exit(code);
}

function once(socket, event) {
  return new Promise((resolve) => socket.once(event, resolve));
}

// --- exactly the seed's example, for the mentee --------------------------------------------
const socket = io(`${wsBase}/chat`, {
  auth: { token: process.env.MENTEE_TOKEN },
});
socket.emit('join_conversation', { conversationId });
socket.on('new_message', ({ conversationId, message }) => {
  seen.events.push({ side: 'mentee', event: 'new_message', conversationId, message });
});
socket.on('user_typing', ({ conversationId, userId, isTyping }) => {
  seen.events.push({ side: 'mentee', event: 'user_typing', conversationId, userId, isTyping });
});

// --- the mentor, with a token in the Authorization header and polling only ---------------
const mentor = io(`${base}/chat`, {
  extraHeaders: { Authorization: `Bearer ${process.env.MENTOR_TOKEN}` },
  transports: ['polling'],
});
mentor.on('messages_read', (payload) => {
  seen.events.push({ side: 'mentor', event: 'messages_read', ...payload });
});
// Only observes: which events reached each side, whether the example listens to them or not.
seen.any = { mentee: [], mentor: [] };
socket.onAny((event) => seen.any.mentee.push(event));
mentor.onAny((event) => seen.any.mentor.push(event));

async function changeMessage(id, method, body) {
  const response = await fetch(`${base}/api/conversations/${conversationId}/messages/${id}`, {
    method,
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${process.env.MENTOR_TOKEN}`,
    },
    body: body && JSON.stringify(body),
  });
  return response.status;
}

try {
  await Promise.all([once(socket, 'connect'), once(mentor, 'connect')]);
  const joinAck = await socket.timeout(5000).emitWithAck('join_conversation', { conversationId });
  seen.joinAck = joinAck;

  const received = once(socket, 'new_message');
  const response = await fetch(`${base}/api/conversations/${conversationId}/messages`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${process.env.MENTOR_TOKEN}`,
    },
    body: JSON.stringify({ content: 'Hello, mentee!', contentType: 'text' }),
  });
  seen.postStatus = response.status;
  seen.posted = await response.json();
  await received;

  const earlier = process.env.EARLIER_MESSAGE_ID;
  if (earlier) {
    const updated = once(socket, 'message_updated');
    const deleted = once(socket, 'message_deleted');
    seen.changes = [
      await changeMessage(earlier, 'PATCH', { content: 'Sent too early' }),
      await changeMessage(earlier, 'DELETE'),
    ];
    await Promise.all([updated, deleted]);
  }

  const typing = once(socket, 'user_typing');
  mentor.emit('typing', { conversationId, isTyping: true });
  await typing;

  const read = once(mentor, 'messages_read');
  socket.emit('mark_read', { conversationId });
  await read;

  // A bad token is refused with connect_error "unauthorized".
  const rejected = io(`${wsBase}/chat`, { auth: { token: 'nope' }, reconnection: false });
  const error = await once(rejected, 'connect_error');
  seen.errors.push({ message: error.message, data: error.data });
  rejected.close();

  seen.transport = socket.io.engine.transport.name;
  socket.disconnect();
  mentor.disconnect();
  finish(0, 'ok');
} catch (err) {
  seen.errors.push({ message: String(err) });
  finish(1, 'failed');
}
