// Keyless signing of a pushed image with sigstore-js against a local mock Fulcio and Rekor
// (@sigstore/mock served on 127.0.0.1), the bundle attached by @sigstore/oci.
//
// node sign.js --image HOST:PORT/REPO --digest sha256:HEX --identity URI --issuer URL --out DIR
//   [--statement-digest sha256:HEX]  sign a statement naming another digest
//   [--tamper]                       change the DSSE payload after signing
//   [--no-tlog]                      drop the transparency log entries from the bundle
//   [--no-attach]                    only write DIR/bundle.json
//   [--swap-entry]                   keep the log entry of another signature by the same
//                                    key and log (validly signed, but not of this bundle)
//   [--message]                      a message signature of the manifest's bytes (a
//                                    hashedrekord entry) instead of a DSSE in-toto statement
// node sign.js --image HOST:PORT/REPO --digest sha256:HEX --bundle FILE
//   attaches FILE (a bundle, perhaps altered) as it is, without signing.
// Writes DIR/trusted_root.json (this CA and log), DIR/other_root.json (another CA and log,
// for "does not chain") and DIR/bundle.json.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const mock = require('@sigstore/mock');
const {
  DSSEBundleBuilder, FulcioSigner, MessageSignatureBundleBuilder, RekorWitness,
} = require('@sigstore/sign');
const { attachArtifactToImage } = require('@sigstore/oci');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

function args() {
  const a = { flags: new Set() };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (['tamper', 'no-tlog', 'no-attach', 'message', 'swap-entry'].includes(k)) a.flags.add(k);
    else a[k] = argv[++i];
  }
  const need = a.bundle ? ['image', 'digest'] : ['image', 'digest', 'identity', 'issuer', 'out'];
  for (const k of need) {
    if (!a[k]) throw new Error(`missing --${k}`);
  }
  return a;
}

// A CA and a log as @sigstore/mock makes them, with the trusted root that names them.
async function authorities(host) {
  const caKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ctKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tlogKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctlog = await mock.initializeCTLog(ctKey);
  const ca = await mock.initializeCA(caKey, ctlog);
  const tlog = await mock.initializeTLog(`http://${host}`, tlogKey);
  const start = new Date(Date.now() - 3600 * 1000);
  const keyId = (der) => crypto.createHash('sha256').update(der).digest();
  const root = TrustedRoot.toJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{
      baseUrl: `http://${host}`,
      hashAlgorithm: 1, // SHA2_256
      publicKey: { rawBytes: tlog.publicKey, keyDetails: 5, validFor: { start } }, // PKIX_ECDSA_P256_SHA_256
      logId: { keyId: keyId(tlog.publicKey) },
    }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: `http://${host}`,
      certChain: { certificates: [{ rawBytes: ca.rootCertificate }] },
      validFor: { start },
    }],
    ctlogs: [{
      baseUrl: `http://${host}`,
      hashAlgorithm: 1,
      publicKey: { rawBytes: ctlog.publicKey, keyDetails: 5, validFor: { start } },
      logId: { keyId: Buffer.from(ctlog.logID) },
    }],
    timestampAuthorities: [],
  });
  return { ca, ctlog, tlog, root };
}

// Serves the mock Fulcio and Rekor handlers (added to `handlers` later) on 127.0.0.1.
function serve(handlers) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const h = handlers.find((x) => x.path === req.url && req.method === 'POST');
      if (!h) {
        res.writeHead(404).end();
        return;
      }
      const r = await h.fn(Buffer.concat(chunks).toString());
      res.writeHead(r.statusCode, { 'Content-Type': r.contentType || 'text/plain' }).end(r.response);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// An unsigned OIDC token: the mock Fulcio reads its claims without checking a signature.
function token(sub, iss) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, iss, aud: 'sigstore', iat: now, exp: now + 600 })}.`;
}

// @sigstore/oci's attachment: an artifact manifest with the image as subject, listed in the
// referrers index (the tag sha256-HEX where the registry has no referrers API).
async function attach(a, bytes, mediaType) {
  const d = await attachArtifactToImage({
    imageName: a.image,
    imageDigest: a.digest,
    artifact: bytes,
    mediaType,
    credentials: undefined,
  });
  process.stdout.write(`${d.digest}\n`);
}

async function main() {
  const a = args();
  if (a.bundle) {
    const bytes = fs.readFileSync(a.bundle);
    await attach(a, bytes, JSON.parse(bytes).mediaType);
    return;
  }
  const handlers = [];
  const server = await serve(handlers);
  const host = `127.0.0.1:${server.address().port}`;
  const mine = await authorities(host);
  const other = await authorities(host);
  handlers.push(mock.fulcioHandler(mine.ca), mock.rekorHandler(mine.tlog));

  const named = a['statement-digest'] || a.digest;
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: a.image, digest: { sha256: named.replace(/^sha256:/, '') } }],
    predicateType: 'https://sigstore.dev/cosign/sign/v1',
    predicate: {},
  };
  const signer = new FulcioSigner({
    fulcioBaseURL: `http://${host}`,
    identityProvider: { getToken: async () => token(a.identity, a.issuer) },
  });
  const witnesses = [new RekorWitness({ rekorBaseURL: `http://${host}` })];
  let bundle;
  if (a.flags.has('message')) {
    // The manifest's own bytes: their SHA-256 is the image digest.
    const [reg, ...repo] = a.image.split('/');
    const r = await fetch(`http://${reg}/v2/${repo.join('/')}/manifests/${a.digest}`, {
      headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' },
    });
    if (!r.ok) throw new Error(`GET manifest: ${r.status}`);
    const data = Buffer.from(await r.arrayBuffer());
    bundle = await new MessageSignatureBundleBuilder({ signer, witnesses }).create({ data });
  } else {
    bundle = await new DSSEBundleBuilder({ signer, witnesses }).create({
      data: Buffer.from(JSON.stringify(statement)),
      type: 'application/vnd.in-toto+json',
    });
  }
  if (a.flags.has('swap-entry')) {
    const other = await new DSSEBundleBuilder({ signer, witnesses }).create({
      data: Buffer.from(JSON.stringify({ ...statement, predicate: { other: true } })),
      type: 'application/vnd.in-toto+json',
    });
    bundle.verificationMaterial.tlogEntries = other.verificationMaterial.tlogEntries;
  }
  server.close();

  let json = JSON.parse(JSON.stringify(require('@sigstore/bundle').bundleToJSON(bundle)));
  if (a.flags.has('tamper')) {
    const p = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64'));
    p.predicate = { tampered: true };
    json.dsseEnvelope.payload = Buffer.from(JSON.stringify(p)).toString('base64');
  }
  if (a.flags.has('no-tlog')) {
    json.verificationMaterial.tlogEntries = [];
  }
  fs.mkdirSync(a.out, { recursive: true });
  fs.writeFileSync(path.join(a.out, 'trusted_root.json'), JSON.stringify(mine.root, null, 2));
  fs.writeFileSync(path.join(a.out, 'other_root.json'), JSON.stringify(other.root, null, 2));
  const bytes = Buffer.from(JSON.stringify(json));
  fs.writeFileSync(path.join(a.out, 'bundle.json'), bytes);
  if (!a.flags.has('no-attach')) await attach(a, bytes, json.mediaType);
}

main().catch((e) => {
  process.stderr.write(`sign.js: ${e.stack || e}\n${e.cause ? `cause: ${e.cause.stack || e.cause}\n` : ''}`);
  process.exit(1);
});
