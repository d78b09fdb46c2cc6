#!/usr/bin/env node
// Places one order on a surge server and waits for the saga to settle it.
//
// The Node.js twin of clients/python/place_order.py: the same flags, output
// and exit codes, on @grpc/grpc-js and @grpc/proto-loader (pinned by
// package-lock.json; `npm ci` in this folder installs them). The .proto files
// are read at run time from the repository's protos/ folder, no copies:
//
//   (cd clients/node && npm ci)
//   node clients/node/place_order.js --addr 127.0.0.1:50051 \
//       --token "$SURGE_ADMIN_TOKEN" --sku book --restock 10
//
// With a token (or --restock on a server without one) it first restocks the
// SKU (an admin call), then places an order and calls GetOrder with
// wait_for_settlement_ms. Exit code: 0 when the order settled (CONFIRMED or
// CANCELLED), 1 when it is still PENDING or an RPC failed, 2 for bad
// arguments or missing dependencies.
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const util = require('node:util');

const PROTO_DIR = process.env.SURGE_PROTO_DIR || path.resolve(__dirname, '..', '..', 'protos');

const USAGE = `usage: place_order.js [--addr HOST:PORT] [--token TOKEN] [--user USER] [--sku SKU]
                      [--quantity N] [--restock N] [--wait-ms MS] [--timeout SECONDS]
                      [--json] [--help]

Places one order on a surge server and waits for the saga to settle it.

  --addr HOST:PORT    server (env SURGE_ADDR, default 127.0.0.1:50051)
  --token TOKEN       admin token for the restock (env SURGE_ADMIN_TOKEN)
  --user USER         user placing the order (default node-user)
  --sku SKU           SKU to order (default node-sku)
  --quantity N        units to order (default 1)
  --restock N         units to add first (default: 10 when a token is given)
  --wait-ms MS        how long GetOrder may wait for settlement (default 10000)
  --timeout SECONDS   seconds per call (default 10)
  --json              print the order as JSON
  --help              show this help

Exit code: 0 settled (CONFIRMED or CANCELLED), 1 still PENDING or an RPC
failed, 2 bad arguments or missing dependencies (run npm ci in clients/node).
`;

class UsageError extends Error {}

function parseIntFlag(name, text) {
  if (!/^[+-]?\d+$/.test(text)) throw new UsageError(`argument --${name}: invalid int value: '${text}'`);
  return Number.parseInt(text, 10);
}

function parseArgs(argv) {
  let parsed;
  try {
    parsed = util.parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        addr: {type: 'string'},
        token: {type: 'string'},
        user: {type: 'string'},
        sku: {type: 'string'},
        quantity: {type: 'string'},
        restock: {type: 'string'},
        'wait-ms': {type: 'string'},
        timeout: {type: 'string'},
        json: {type: 'boolean'},
        help: {type: 'boolean', short: 'h'},
      },
    }).values;
  } catch (e) {
    throw new UsageError(`${e.message} (--help lists the flags)`);
  }
  const args = {
    help: Boolean(parsed.help),
    addr: parsed.addr ?? process.env.SURGE_ADDR ?? '127.0.0.1:50051',
    token: parsed.token ?? process.env.SURGE_ADMIN_TOKEN ?? '',
    user: parsed.user ?? 'node-user',
    sku: parsed.sku ?? 'node-sku',
    quantity: parsed.quantity === undefined ? 1 : parseIntFlag('quantity', parsed.quantity),
    restock: parsed.restock === undefined ? null : parseIntFlag('restock', parsed.restock),
    waitMs: parsed['wait-ms'] === undefined ? 10000 : parseIntFlag('wait-ms', parsed['wait-ms']),
    timeout: 10,
    json: Boolean(parsed.json),
  };
  if (parsed.timeout !== undefined) {
    args.timeout = Number(parsed.timeout);
    if (!Number.isFinite(args.timeout) || args.timeout <= 0) {
      throw new UsageError(`argument --timeout: invalid positive number: '${parsed.timeout}'`);
    }
  }
  return args;
}

// The two npm packages; a setup problem (npm ci not run) is said plainly.
function loadGrpc() {
  try {
    return {grpc: require('@grpc/grpc-js'), protoLoader: require('@grpc/proto-loader')};
  } catch (e) {
    throw new UsageError(
        `cannot load @grpc/grpc-js and @grpc/proto-loader (${e.code || e.message}); ` +
        `run npm ci in ${__dirname}`);
  }
}

function loadServices(grpc, protoLoader) {
  let definition;
  try {
    definition = protoLoader.loadSync(['surge/v1/surge.proto'], {
      includeDirs: [PROTO_DIR],
      keepCase: true,  // field names as in the .proto (order_id), like Python
      longs: String,   // int64/uint64 as decimal strings: no precision loss
      enums: String,   // enum values by name
      defaults: true,
    });
  } catch (e) {
    throw new UsageError(`cannot load surge/v1/surge.proto from ${PROTO_DIR}: ${e.message}`);
  }
  return grpc.loadPackageDefinition(definition).surge.v1;
}

// A unary call as a promise, with a deadline.
function call(client, method, request, metadata, timeoutSeconds) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, {deadline: Date.now() + timeoutSeconds * 1000},
                   (err, response) => (err ? reject(err) : resolve(response)));
  });
}

function codeName(grpc, code) {
  return Object.keys(grpc.status).find((k) => grpc.status[k] === code) || String(code);
}

async function run(args) {
  const {grpc, protoLoader} = loadGrpc();
  const v1 = loadServices(grpc, protoLoader);
  const metadata = new grpc.Metadata();
  if (args.token) metadata.add('authorization', `Bearer ${args.token}`);
  const restock = args.restock ?? (args.token ? 10 : 0);
  const runId = crypto.randomUUID().replace(/-/g, '');

  const credentials = grpc.credentials.createInsecure();
  const inventory = new v1.InventoryService(args.addr, credentials);
  const orders = new v1.OrderService(args.addr, credentials);
  let order;
  try {
    if (restock > 0) {
      const adjusted = await call(
          inventory, 'AdjustStock',
          {request_id: `node-stock-${runId}`, sku: args.sku, delta: restock}, metadata,
          args.timeout);
      console.log(`restocked:  ${args.sku} +${restock} (position ${adjusted.position})`);
    }
    const placed = await call(
        orders, 'PlaceOrder',
        {
          request_id: `node-order-${runId}`,
          user_id: args.user,
          lines: [{sku: args.sku, quantity: args.quantity}],
        },
        metadata, args.timeout);
    console.log(`placed:     ${placed.order_id} (position ${placed.position})`);
    order = await call(
        orders, 'GetOrder', {order_id: placed.order_id, wait_for_settlement_ms: args.waitMs},
        metadata, args.timeout + args.waitMs / 1000);
  } catch (e) {
    if (e.code === undefined) throw e;
    process.stderr.write(`error: ${codeName(grpc, e.code)}: ${e.details}\n`);
    return 1;
  } finally {
    inventory.close();
    orders.close();
  }

  const status = String(order.status).replace(/^ORDER_STATUS_/, '');
  if (args.json) {
    console.log(JSON.stringify(order));
  } else {
    console.log(`order_id:   ${order.order_id}`);
    console.log(`status:     ${status}`);
    if (order.reason) console.log(`reason:     ${order.reason}`);
  }
  return status === 'CONFIRMED' || status === 'CANCELLED' ? 0 : 1;
}

async function main(argv) {
  let args;
  try {
    args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    return await run(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`error: ${e.message}\n`);
    return 2;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (e) => {
  process.stderr.write(`error: ${e.stack || e}\n`);
  process.exitCode = 1;
});
