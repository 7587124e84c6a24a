'use strict';
// The trigger baseline of bench/: the seed article's Realm database trigger
// ("Function is triggered anytime a document is inserted/updated in our collection")
// as its readers would run it themselves now that App Services triggers are gone:
// the official Node.js driver's change stream and the AWS SDK v3 Kinesis client.
// It keeps the function's logic and nothing more:
//   1. watch the collection for inserts, updates and replaces, with the full document
//      (an update is looked up: fullDocument "updateLookup", as a Realm trigger with
//      "Full Document" on);
//   2. for each change, one Kinesis PutRecord: Data = JSON.stringify(fullDocument),
//      PartitionKey "1", to STREAM;
//   3. one change at a time: the next change is taken once the PutRecord answered (a
//      Realm trigger that is not "unordered" runs its function for one event at a
//      time, in order);
//   4. an error is logged and the change skipped, as the function's try/catch did.
// The resume token lives in memory only: the Realm trigger kept it for the function,
// which never saw it.
//
//   MONGODB_URI=mongodb://127.0.0.1:27017 DB=monitors COLLECTION=reports STREAM=realm \
//   KINESIS_ENDPOINT=http://127.0.0.1:5000 AWS_REGION=us-east-1 \
//   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... node trigger.js
//
// Environment: MONGODB_URI, DB (monitors), COLLECTION (reports), STREAM (realm: the
// article's names), KINESIS_ENDPOINT (none: AWS's), AWS_REGION (us-east-1), and the
// credentials as the SDK reads them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...).
// Prints "watching" on stdout once the change stream is open.
const http = require('http');
const https = require('https');
const { MongoClient } = require('mongodb');
const { KinesisClient, PutRecordCommand } = require('@aws-sdk/client-kinesis');
const { NodeHttpHandler } = require('@smithy/node-http-handler');

const settings = {
  uri: process.env.MONGODB_URI || 'mongodb://127.0.0.1:27017',
  database: process.env.DB || 'monitors',
  collection: process.env.COLLECTION || 'reports',
  stream: process.env.STREAM || 'realm',
  region: process.env.AWS_REGION || 'us-east-1',
  endpoint: process.env.KINESIS_ENDPOINT || undefined,
};

// The SDK's Kinesis client speaks HTTP/2 by default; moto (and hydrant) speak
// HTTP/1.1, so this is HTTP/1.1 with connections kept alive, one request at a time.
const kinesis = new KinesisClient({
  region: settings.region,
  endpoint: settings.endpoint,
  requestHandler: new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 1 }),
  }),
});

// The function of the article, for one change event.
async function onChange(event) {
  try {
    return await kinesis.send(new PutRecordCommand({
      // the trigger function receives the full document that triggered the event:
      // put this document into Kinesis
      Data: Buffer.from(JSON.stringify(event.fullDocument)),
      StreamName: settings.stream,
      PartitionKey: '1',
    }));
  } catch (error) {
    console.log(String(error));
    return undefined;
  }
}

async function main() {
  const client = new MongoClient(settings.uri);
  await client.connect();
  const changes = client.db(settings.database).collection(settings.collection).watch(
    [{ $match: { operationType: { $in: ['insert', 'update', 'replace'] } } }],
    { fullDocument: 'updateLookup' });
  // SIGTERM/SIGINT: close the stream (the loop below ends), then the client.
  const stop = () => {
    changes.close().catch(() => {});
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    // The driver opens the stream on the first read: tryNext() opens it and returns a
    // change if one is there already (null if none), so "watching" means it is open.
    const first = await changes.tryNext();
    console.log(`watching ${settings.database}.${settings.collection} -> kinesis ${settings.stream}`);
    if (first) await onChange(first);
    for await (const event of changes) {
      await onChange(event);
    }
  } catch (error) {
    if (!changes.closed) throw error;
  }
  await client.close();
}

main().catch((error) => {
  console.error(`trigger: ${error}`);
  process.exit(1);
});
