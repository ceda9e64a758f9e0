// A black-box probe of the contract's Socket.IO rules with the official socket.io-client.
// Input (env): CHATKIT_URL, TRANSPORT ("default" = polling then upgrade, or "websocket"),
// PROBE_INPUT (JSON: tokens, ids). Output: one JSON object of what was observed; the pytest
// side (tests/test_contract_blackbox.py) asserts on it.
import { base, finish, giveUpAfter, input, seen, socketTo } from './probe.mjs';

giveUpAfter(40000);

function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}

function refused(socket) {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ connected: true }));
    socket.once('connect_error', (err) => resolve({ message: err.message, data: err.data ?? null }));
  });
}

// Collects every event of the given names on a socket.
function record(socket, names) {
  const log = [];
  for (const name of names) socket.on(name, (payload) => log.push({ event: name, payload }));
  return log;
}

function ack(socket, event, ...args) {
  return socket.timeout(5000).emitWithAck(event, ...args).catch((err) => ({ timeout: String(err) }));
}

function nextEvent(socket, name, ms = 5000) {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), ms);
    socket.once(name, (payload) => {
      clearTimeout(t);
      resolve(payload);
    });
  });
}

async function post(token, conversationId, body) {
  const response = await fetch(`${base}/api/conversations/${conversationId}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function patchRead(token, conversationId) {
  const response = await fetch(`${base}/api/conversations/${conversationId}/read`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: await response.json() };
}

try {
  const { mentorToken, menteeToken, strangerToken, conversationId, badTokens } = input;
  const cid = conversationId;

  // --- connect_error for each failure kind at each token location --------------------------
  seen.refusals = {};
  for (const [kind, token] of Object.entries(badTokens)) {
    const places = {
      auth: { auth: token === null ? {} : { token } },
      header: { extraHeaders: token === null ? {} : { Authorization: `Bearer ${token}` } },
      query: { query: token === null ? {} : { token } },
    };
    for (const [place, options] of Object.entries(places)) {
      seen.refusals[`${kind}@${place}`] = await refused(socketTo(options));
    }
  }
  // each good location connects
  seen.goodLocations = {};
  seen.goodLocations.auth = await refused(socketTo({ auth: { token: menteeToken } }));
  seen.goodLocations.header = await refused(
    socketTo({ extraHeaders: { Authorization: `Bearer ${menteeToken}` } }),
  );
  seen.goodLocations.query = await refused(socketTo({ query: { token: menteeToken } }));

  // --- two tabs of the mentor, one of the mentee ------------------------------------------
  const mentorA = await connected(socketTo({ auth: { token: mentorToken } }));
  const mentorB = await connected(socketTo({ auth: { token: mentorToken } }));
  const mentee = await connected(socketTo({ auth: { token: menteeToken } }));
  const stranger = await connected(socketTo({ auth: { token: strangerToken } }));
  const names = ['new_message', 'user_typing', 'messages_read'];
  const logA = record(mentorA, names);
  const logB = record(mentorB, names);
  const logMentee = record(mentee, names);
  const logStranger = record(stranger, names);

  // --- acks for well-formed and malformed payloads ----------------------------------------
  const payloads = {
    valid: { conversationId: cid },
    string: 'not an object',
    number: 42,
    null: null,
    array: [cid],
    missingId: {},
    numericId: { conversationId: 7 },
    nullId: { conversationId: null },
    emptyId: { conversationId: '' },
    notUuid: { conversationId: 'xyz' },
    unknown: { conversationId: '00000000-0000-4000-8000-000000000000' },
  };
  seen.acks = {};
  // One fresh mentee socket per event: the sweep stays under the per-connection event limit.
  for (const event of ['join_conversation', 'leave_conversation', 'mark_read', 'typing']) {
    const sweeper = await connected(socketTo({ auth: { token: menteeToken } }));
    for (const [name, payload] of Object.entries(payloads)) {
      let body = payload;
      if (event === 'typing' && payload && typeof payload === 'object' && !Array.isArray(payload)) {
        body = { ...payload, isTyping: false };
      }
      seen.acks[`${event}:${name}`] = await ack(sweeper, event, body);
    }
    seen.acks[`${event}:noPayload`] = await ack(sweeper, event);
    sweeper.disconnect();
  }
  seen.acks['typing:isTypingString'] = await ack(mentee, 'typing', { conversationId: cid, isTyping: 'yes' });
  seen.acks['typing:isTypingMissing'] = await ack(mentee, 'typing', { conversationId: cid });
  seen.acks['join_conversation:stranger'] = await ack(stranger, 'join_conversation', { conversationId: cid });
  seen.acks['typing:stranger'] = await ack(stranger, 'typing', { conversationId: cid, isTyping: true });
  seen.acks['mark_read:stranger'] = await ack(stranger, 'mark_read', { conversationId: cid });
  seen.acks['unknownEvent'] = await ack(mentee, 'no_such_event', { conversationId: cid });

  // events with no ack callback must not kill the connection
  const careless = await connected(socketTo({ auth: { token: menteeToken } }));
  for (const event of ['join_conversation', 'leave_conversation', 'mark_read', 'typing']) {
    careless.emit(event, 'garbage');
    careless.emit(event);
    careless.emit(event, { conversationId: 5 });
  }
  careless.emit('join_conversation', { conversationId: cid });
  seen.aliveAfterNoAck = await ack(careless, 'join_conversation', { conversationId: cid });
  seen.carelessConnected = careless.connected;
  careless.disconnect();

  // --- typing: relayed to the other side, not echoed to the sender's own sockets ----------
  logA.length = 0; logB.length = 0; logMentee.length = 0; logStranger.length = 0;
  const menteeTyping = nextEvent(mentee, 'user_typing');
  seen.typingAck = await ack(mentorA, 'typing', { conversationId: cid, isTyping: true });
  seen.typingAtMentee = await menteeTyping;
  // a stop that this process never saw a start for (fresh tab B) is still relayed
  const menteeStop = nextEvent(mentee, 'user_typing');
  seen.stopAck = await ack(mentorB, 'typing', { conversationId: cid, isTyping: false });
  seen.stopAtMentee = await menteeStop;
  const menteeStop2 = nextEvent(mentee, 'user_typing');
  seen.stopAgainAck = await ack(mentorB, 'typing', { conversationId: cid, isTyping: false });
  seen.stopAgainAtMentee = await menteeStop2;

  // --- new_message to all participants' sockets incl. the sender's other tab ---------------
  const atB = nextEvent(mentorB, 'new_message');
  const atMentee = nextEvent(mentee, 'new_message');
  const atA = nextEvent(mentorA, 'new_message');
  seen.post = await post(mentorToken, cid, { content: 'hello', clientMessageId: 'probe-1' });
  seen.newMessageAtB = await atB;
  seen.newMessageAtMentee = await atMentee;
  seen.newMessageAtA = await atA;
  // a repeat with the same clientMessageId: 200, no push. Then a fresh message acts as a
  // barrier: it must be the next new_message the mentee sees.
  seen.repeat = await post(mentorToken, cid, { content: 'hello again', clientMessageId: 'probe-1' });
  const barrier = nextEvent(mentee, 'new_message');
  seen.barrierPost = await post(mentorToken, cid, { content: 'barrier' });
  seen.afterRepeatAtMentee = await barrier;

  // --- mark_read: ack, messages_read only when count > 0 -----------------------------------
  const readAtMentor = nextEvent(mentorA, 'messages_read');
  seen.markReadAck = await ack(mentee, 'mark_read', { conversationId: cid });
  seen.messagesReadAtMentor = await readAtMentor;
  seen.markReadAgainAck = await ack(mentee, 'mark_read', { conversationId: cid });
  seen.patchAgain = await patchRead(menteeToken, cid);
  // barrier: a new message then a PATCH with count 1 must be the next messages_read
  await post(mentorToken, cid, { content: 'one more' });
  const readBarrier = nextEvent(mentorA, 'messages_read');
  seen.patchOne = await patchRead(menteeToken, cid);
  seen.messagesReadBarrier = await readBarrier;

  // --- leave: a left socket no longer gets the room's pushes -------------------------------
  seen.leaveAck = await ack(mentorB, 'leave_conversation', { conversationId: cid });
  const atMentee2 = nextEvent(mentee, 'new_message');
  await post(menteeToken, cid, { content: 'after leave' });
  seen.afterLeaveAtMentee = await atMentee2;

  seen.logs = { A: logA, B: logB, mentee: logMentee, stranger: logStranger };
  seen.transportOfMentee = mentee.io.engine.transport.name;
  finish(0, 'ok');
} catch (err) {
  seen.exception = String(err && err.stack ? err.stack : err);
  finish(2, 'exception');
}
