import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Store, createRuntime, pendingDelivery } from '../../src/bot/index.js';
import { tempDir, testConfig } from './helpers.js';

test('the store migrates, keeps conversations, requests, motions and ratings across a reopen', () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'db', 'charades.sqlite');
  try {
    let store = new Store(path);
    assert.equal(store.schemaVersion, 2);
    const conv = store.conversation('discord', 'thread-1', 'alice');
    assert.equal(store.conversation('discord', 'thread-1', 'bob').id, conv.id, 'same key, same conversation');
    const turn = store.addTurn({ conversationId: conv.id, userId: 'alice', text: 'wave', action: 'prompt' });
    store.addRequest({ id: 'job-1', conversationId: conv.id, turnId: turn, userId: 'alice' });
    assert.equal(store.activeRequests('alice'), 1);
    store.completeRequest('job-1', {
      request: { segments: [{ text: 'wave', seconds: 2 }] },
      videoPath: '/v.mp4',
      seconds: 2,
    });
    store.addMotion({
      id: 'job-1-0',
      requestId: 'job-1',
      sample: 0,
      path: 'motions/job-1-0.json',
      numFrames: 40,
      fps: 20,
      source: 'retrieval',
    });
    store.saveConversationState(conv.id, { version: 1 }, 'job-1');
    store.rate('job-1', 'bob', 1);
    store.rate('job-1', 'bob', -1);
    store.rate('job-1', 'carol', 1);
    store.close();

    store = new Store(path);
    const again = store.conversation('discord', 'thread-1', 'alice');
    assert.equal(again.lastRequestId, 'job-1');
    assert.deepEqual(again.state, { version: 1 });
    assert.equal(store.activeRequests('alice'), 0);
    assert.deepEqual(
      store.motionsOf('job-1').map((m) => m.id),
      ['job-1-0'],
    );
    assert.deepEqual(store.ratings('job-1'), { up: 1, down: 1 }, "bob's second vote replaced his first");
    assert.equal(store.requestsSince('alice', new Date(Date.now() - 60_000).toISOString()), 1);
    store.close();
  } finally {
    cleanup();
  }
});

test('a delivery can be claimed once per job', () => {
  const store = new Store(':memory:');
  assert.equal(store.claimDelivery('job-9', 'x'), true);
  assert.equal(store.claimDelivery('job-9', 'y'), false);
  store.setDeliveryTarget('job-9', 'discord:1:2');
  assert.equal(store.jobDeliveredAs('discord:1:2'), 'job-9');
  store.close();
});

test('requests with a reply target stay undelivered until their delivery is claimed, whatever their status', () => {
  const store = new Store(':memory:');
  try {
    const conv = store.conversation('discord', 'k', 'alice');
    const cli = store.conversation('cli', 'session', 'cli');
    const add = (id: string, conversationId: string, replyTo?: unknown) => {
      const turn = store.addTurn({ conversationId, userId: 'alice', text: 'wave', action: 'prompt' });
      store.addRequest({ id, conversationId, turnId: turn, userId: 'alice', replyTo });
      return turn;
    };
    const target = {
      surface: { kind: 'message', channelId: '1', messageId: '2', uploadLimit: 1 },
      prompt: 'wave',
      openThread: true,
    };
    const turn = add('queued-1', conv.id, target);
    add('done-1', conv.id, target);
    add('failed-1', conv.id, target);
    add('no-target', conv.id);
    add('cli-1', cli.id, target);
    store.completeRequest('done-1', { request: { segments: [] }, videoPath: '/v.mp4', seconds: 2 });
    store.setRequestStatus('failed-1', 'failed', 'boom');
    assert.deepEqual(
      store.undeliveredRequests('discord').map((r) => r.id),
      ['queued-1', 'done-1', 'failed-1'],
    );
    assert.deepEqual(store.request('queued-1')?.replyTo, target);
    assert.equal(store.request('queued-1')?.turnId, turn);
    assert.equal(store.request('no-target')?.replyTo, undefined);
    assert.equal(store.claimDelivery('done-1', pendingDelivery('discord')), true);
    store.claimDelivery('failed-1', 'discord:failed');
    assert.equal(store.request('failed-1')?.replyTo, undefined, 'a final claim keeps no interaction token at rest');
    // A run that dies while posting leaves its claim pending: the next start sees the reply as not out yet.
    assert.deepEqual(
      store.undeliveredRequests('discord').map((r) => r.id),
      ['queued-1', 'done-1'],
    );
    assert.equal(store.claimDelivery('done-1', pendingDelivery('discord')), false);
    store.releasePendingDelivery('done-1', 'discord');
    assert.equal(
      store.claimDelivery('done-1', pendingDelivery('discord')),
      true,
      'released, the delivery can be claimed again',
    );
    store.setDeliveryTarget('done-1', 'discord:1:2');
    assert.equal(store.request('done-1')?.replyTo, undefined, 'posted: the interaction token is not kept at rest');
    assert.deepEqual(
      store.undeliveredRequests('discord').map((r) => r.id),
      ['queued-1'],
    );
    assert.deepEqual(store.request('queued-1')?.replyTo, target);
    store.finishTurn(turn, 'Acting: wave', ['a note'], 'agent:offline');
    assert.deepEqual(store.turn(turn), {
      id: turn,
      conversationId: conv.id,
      reply: 'Acting: wave',
      notes: ['a note'],
      planner: 'agent:offline',
    });
  } finally {
    store.close();
  }
});

test('settling a delivery ends it for good, over a pending claim a dead run left, and drops the stored reply target', () => {
  const { dir, cleanup } = tempDir();
  const store = new Store(join(dir, 'charades.sqlite'));
  try {
    const conv = store.conversation('discord', 'k', 'alice');
    const turnId = store.addTurn({ conversationId: conv.id, userId: 'alice', text: 'wave', action: 'prompt' });
    store.addRequest({
      id: 'stuck-1',
      conversationId: conv.id,
      turnId,
      userId: 'alice',
      replyTo: { surface: 'unreadable' },
    });
    assert.equal(store.claimDelivery('stuck-1', pendingDelivery('discord')), true);
    assert.equal(
      store.claimDelivery('stuck-1', 'discord:unreachable'),
      false,
      'a claim cannot replace the pending one',
    );
    assert.deepEqual(
      store.undeliveredRequests('discord').map((r) => r.id),
      ['stuck-1'],
      'so it would be listed at every start',
    );
    store.settleDelivery('stuck-1', 'discord:unreachable');
    assert.equal(store.deliveryTarget('stuck-1'), 'discord:unreachable');
    assert.deepEqual(store.undeliveredRequests('discord'), []);
    assert.equal(store.request('stuck-1')?.replyTo, undefined, 'the reply target (it may hold a token) is gone');
    store.settleDelivery('never-claimed', 'discord:undeliverable');
    assert.equal(store.deliveryTarget('never-claimed'), 'discord:undeliverable');
    assert.equal(store.deliveryTarget('unknown'), undefined);
  } finally {
    store.close();
    cleanup();
  }
});

test('a store from an earlier schema upgrades in place and keeps its rows', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'old.sqlite');
    const store = new Store(path);
    const conv = store.conversation('discord', 'k', 'alice');
    const turn = store.addTurn({ conversationId: conv.id, userId: 'alice', text: 'wave', action: 'prompt' });
    store.addRequest({ id: 'old-1', conversationId: conv.id, turnId: turn, userId: 'alice' });
    store.db.exec('ALTER TABLE requests DROP COLUMN reply_json');
    store.db.pragma('user_version = 1');
    store.close();
    const upgraded = new Store(path);
    assert.equal(upgraded.schemaVersion, 2);
    assert.equal(upgraded.request('old-1')?.replyTo, undefined);
    assert.deepEqual(
      upgraded.undeliveredRequests('discord'),
      [],
      'requests from before reply targets are never re-sent',
    );
    upgraded.close();
  } finally {
    cleanup();
  }
});

test('a store from a newer Charades and a file that is not SQLite are refused with a clear message', () => {
  const { dir, cleanup } = tempDir();
  try {
    const newer = join(dir, 'newer.sqlite');
    const db = new Database(newer);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => new Store(newer), /schema version 99, newer than this Charades \(2\)/);
    const junk = join(dir, 'junk.sqlite');
    writeFileSync(junk, 'this is not a database at all, just some text that is long enough to fill a header page');
    assert.throws(() => new Store(junk), /cannot open the store at .*junk\.sqlite: file is not a database/);
  } finally {
    cleanup();
  }
});

test('requests a crashed run left unfinished are marked failed at startup, so they stop counting against limits', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = new Store(join(dir, 'charades.sqlite'));
    const conv = store.conversation('discord', 'k', 'alice');
    const turn = store.addTurn({ conversationId: conv.id, userId: 'alice', text: 'wave', action: 'prompt' });
    store.addRequest({ id: 'stale-1', conversationId: conv.id, turnId: turn, userId: 'alice' });
    store.close();
    const rt = await createRuntime(testConfig(dir));
    try {
      assert.equal(rt.store.activeRequests('alice'), 0);
      assert.match(rt.store.request('stale-1')?.error ?? '', /interrupted: the bot restarted/);
    } finally {
      await rt.close();
    }
  } finally {
    cleanup();
  }
});
