'use strict';
// The baseline of bench/: the Firehose webhook function of the seed article
// (MongoDB's Realm tutorial that made Atlas a Kinesis Data Firehose destination), as
// its readers would run it themselves now that App Services HTTPS endpoints are gone:
// an Express app with the official Node.js driver. It keeps the function's logic and
// nothing more:
//   1. X-Amz-Firehose-Access-Key must equal FIREHOSE_ACCESS_KEY, else 401;
//   2. the body is parsed as JSON, and each record's `data` is base64 of one JSON
//      document, decoded and parsed;
//   3. each document's `_id` becomes an ObjectId;
//   4. one ordered bulk write of upserts, one per record, replacing by `_id` (the
//      article's `find({_id}).upsert().updateOne(document)`; the driver spells a
//      whole-document upsert `replaceOne`);
//   5. the answer is Firehose's JSON, {requestId, timestamp}, plus errorMessage with
//      a 500 when anything above throws (a bad record fails the whole request).
//
//   MONGODB_URI=mongodb://127.0.0.1:27017 FIREHOSE_ACCESS_KEY=secret PORT=8081 node server.js
//
// Environment: MONGODB_URI, FIREHOSE_ACCESS_KEY (required), HOST (127.0.0.1), PORT (8081),
// DB (monitors), COLLECTION (firehose: the article's names). Any POST path is the endpoint.
const express = require('express');
const { MongoClient, ObjectId } = require('mongodb');

const settings = {
  uri: process.env.MONGODB_URI || 'mongodb://127.0.0.1:27017',
  accessKey: process.env.FIREHOSE_ACCESS_KEY,
  host: process.env.HOST || '127.0.0.1',
  port: Number(process.env.PORT || 8081),
  database: process.env.DB || 'monitors',
  collection: process.env.COLLECTION || 'firehose',
};
if (!settings.accessKey) {
  console.error('FIREHOSE_ACCESS_KEY must be set: the access key configured on the delivery stream');
  process.exit(2);
}

// Firehose's largest body is 64 MiB before compression; body-parser gunzips.
const MAX_BODY = 64 * 1024 * 1024;

// The article's function answered every outcome in this shape.
function answer(res, status, requestId, errorMessage) {
  const body = { requestId, timestamp: Date.now() };
  if (errorMessage !== undefined) body.errorMessage = errorMessage;
  res.status(status).json(body);
}

// One Firehose record → the upsert that stores it.
function upsertOf(record) {
  const document = JSON.parse(Buffer.from(record.data, 'base64').toString('utf8'));
  const _id = new ObjectId(document._id);
  return { replaceOne: { filter: { _id }, replacement: { ...document, _id }, upsert: true } };
}

async function main() {
  const client = new MongoClient(settings.uri);
  await client.connect();
  const target = client.db(settings.database).collection(settings.collection);

  const app = express();
  app.use(express.text({ type: () => true, limit: MAX_BODY }));
  app.post('*', async (req, res) => {
    const requestId = req.get('X-Amz-Firehose-Request-Id') || '';
    // A plain comparison, as in the article (hydrant compares in constant time).
    if (req.get('X-Amz-Firehose-Access-Key') !== settings.accessKey) {
      answer(res, 401, requestId, 'Invalid X-Amz-Firehose-Access-Key');
      return;
    }
    try {
      const { records } = JSON.parse(req.body);
      await target.bulkWrite(records.map(upsertOf), { ordered: true });
      answer(res, 200, requestId);
    } catch (err) {
      answer(res, 500, requestId, String(err));
    }
  });

  const server = app.listen(settings.port, settings.host, () => {
    console.log(`baseline: Firehose endpoint on http://${settings.host}:${settings.port}`);
  });
  // SIGTERM/SIGINT: stop accepting, let the requests in progress finish, then exit.
  const stop = () => {
    server.close(() => client.close().finally(() => process.exit(0)));
    setTimeout(() => process.exit(0), 10000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  console.error(`baseline: ${err}`);
  process.exit(1);
});
