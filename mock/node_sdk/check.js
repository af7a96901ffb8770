// Runs the official Couchbase Node.js SDK against couchkv-mock and asserts every result.
const assert = require('assert');
const http = require('http');
const couchbase = require('couchbase');

// POST /mock/<control>?<query> on a management port (admin credentials), as a test harness would.
function control(mgmt, what, query) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: mgmt, method: 'POST', path: `/mock/${what}?${query}`,
                               auth: 'Administrator:password' }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${what}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function expectError(promise, cls, what) {
  try {
    await promise;
  } catch (e) {
    assert(e instanceof cls, `${what}: expected ${cls.name}, got ${e && e.constructor && e.constructor.name}: ${e}`);
    console.log(`ok   ${what} -> ${cls.name}`);
    return;
  }
  assert.fail(`${what}: expected ${cls.name}, but it succeeded`);
}

(async () => {
  const connstr = process.argv[2];
  const caFile = process.argv[3] || undefined; // couchbases://: the certificate the mock was started with
  const mgmt = process.env.MOCK_MGMT_PORT ? Number(process.env.MOCK_MGMT_PORT) : 0; // fault controls
  const cluster = await couchbase.connect(connstr, {
    username: 'default',
    password: 'password',
    timeouts: { kvTimeout: 5000, connectTimeout: 5000, bootstrapTimeout: 10000 },
    ...(caFile ? { security: { trustStorePath: caFile } } : {}),
  });
  const coll = cluster.bucket('default').defaultCollection();
  const ok = (what) => console.log(`ok   ${what}`);

  const up = await coll.upsert('node::1', { name: 'Ada' });
  assert(up.cas);
  ok('upsert');
  const got = await coll.get('node::1');
  assert.deepStrictEqual(got.content, { name: 'Ada' });
  assert.strictEqual(got.cas.toString(), up.cas.toString());
  ok('get');

  await expectError(coll.insert('node::1', { x: 1 }), couchbase.DocumentExistsError, 'insert conflict');

  const rep = await coll.replace('node::1', { name: 'Ada L.' }, { cas: got.cas });
  assert.notStrictEqual(rep.cas.toString(), got.cas.toString());
  ok('replace with CAS');
  await expectError(coll.replace('node::1', { name: 'x' }, { cas: got.cas }), couchbase.CasMismatchError,
                    'replace with a stale CAS');

  const c1 = await coll.binary().increment('node::counter', 5, { initial: 10 });
  assert.strictEqual(Number(c1.value), 10);
  const c2 = await coll.binary().increment('node::counter', 5);
  assert.strictEqual(Number(c2.value), 15);
  ok('increment');

  await coll.touch('node::1', 100);
  ok('touch');

  const locked = await coll.getAndLock('node::1', 10);
  assert.deepStrictEqual(locked.content, { name: 'Ada L.' });
  await expectError(coll.upsert('node::1', { stolen: true }, { timeout: 500 }), Error, 'write to a locked document');
  await coll.unlock('node::1', locked.cas);
  ok('getAndLock / unlock');

  const anyReplica = await coll.getAnyReplica('node::1');
  assert.deepStrictEqual(anyReplica.content, { name: 'Ada L.' });
  ok(`getAnyReplica (isReplica=${anyReplica.isReplica})`);

  const durable = await coll.upsert('node::durable', { d: 1 }, { durabilityPersistTo: 1, durabilityReplicateTo: 1 });
  assert(durable.cas);
  ok('upsert with persistTo=1 replicateTo=1');

  const syncDurable = await coll.upsert('node::durable', { d: 2 }, { durabilityLevel: couchbase.DurabilityLevel.Majority });
  assert(syncDurable.cas);
  ok('upsert with durabilityLevel=majority (HELLO granted synchronous replication)');

  if (mgmt) {
    // A server before 7.0: a second lock of a locked document is TMPFAIL, not LOCKED.
    await control(mgmt, 'tmpfail_on_locked', 'on=1');
    const l1 = await coll.getAndLock('node::durable', 10);
    await expectError(coll.getAndLock('node::durable', 10, { timeout: 500 }), Error, 'getAndLock of a locked document (pre-7.0)');
    await coll.unlock('node::durable', l1.cas);
    await control(mgmt, 'tmpfail_on_locked', 'on=0');
    ok('getAndLock / unlock against a pre-7.0 server');

    // KV authentication refused on every node while HTTP still accepts: operations fail, and the
    // SDK recovers once the nodes accept it again.
    for (const node of [0, 1, 2]) await control(mgmt, 'reject_kv_auth', `node=${node}&reject=1`);
    for (const node of [0, 1, 2]) await control(mgmt, 'kill_connections', `node=${node}`);
    await expectError(coll.get('node::durable', { timeout: 1000 }), Error, 'get while KV SASL refuses the credentials');
    for (const node of [0, 1, 2]) await control(mgmt, 'reject_kv_auth', `node=${node}&reject=0`);
    let back = null;
    for (let i = 0; i < 60 && !back; ++i) {
      try {
        back = await coll.get('node::durable', { timeout: 1000 });
      } catch (e) {
        await sleep(250);
      }
    }
    assert(back, 'the SDK did not recover after KV authentication was accepted again');
    ok('recovered after KV authentication was accepted again');
  }

  await coll.remove('node::1');
  await expectError(coll.get('node::1'), couchbase.DocumentNotFoundError, 'get after remove');
  ok('remove');

  await cluster.close();
  console.log('node sdk check: all passed');
})().catch((e) => {
  console.error('node sdk check FAILED:', e);
  process.exit(1);
});
