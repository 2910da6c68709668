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
//   [--cosign]                       cosign's layout instead: a message signature of the
//                                    simple-signing payload at the tag sha256-HEX.sig, the
//                                    certificate and Rekor evidence in its annotations
//   [--message]                      a message signature of the manifest's bytes (a
//                                    hashedrekord entry) instead of a DSSE in-toto statement
//   [--tsa]                          also an RFC 3161 timestamp from @sigstore/mock's TSA
//   [--rekor-v2]                     log to the mock's Rekor v2 API (an entry with an
//                                    inclusion proof and no signed entry timestamp)
//   [--sct none|bad|other]           the certificate without an embedded SCT, with one whose
//                                    signature is altered (before the CA signs the
//                                    certificate), or with one from the other root's CT log
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
  DSSEBundleBuilder, FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness,
} = require('@sigstore/sign');
const { attachArtifactToImage } = require('@sigstore/oci');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

function args() {
  const a = { flags: new Set() };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (['tamper', 'no-tlog', 'no-attach', 'message', 'swap-entry', 'cosign', 'tsa', 'rekor-v2'].includes(k)) a.flags.add(k);
    else a[k] = argv[++i];
  }
  const need = a.bundle ? ['image', 'digest'] : ['image', 'digest', 'identity', 'issuer', 'out'];
  for (const k of need) {
    if (!a[k]) throw new Error(`missing --${k}`);
  }
  return a;
}

// The CT log the CA submits its precertificates to, as --sct asks.
function ctlogFor(mode, mine, other) {
  if (mode === 'none') return undefined;
  if (mode === 'other') return other;
  if (mode === 'bad') {
    return {
      log: async (cert, issuerID) => {
        const sct = Buffer.from(await mine.log(cert, issuerID));
        sct[sct.length - 4] ^= 1; // inside the ECDSA signature, the last field
        return sct;
      },
    };
  }
  if (mode) throw new Error(`--sct ${mode}: none, bad or other`);
  return mine;
}

// A CA and a log as @sigstore/mock makes them, with the trusted root that names them.
async function authorities(host, sct, otherCT) {
  const caKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ctKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tlogKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctlog = await mock.initializeCTLog(ctKey);
  const ca = await mock.initializeCA(caKey, ctlogFor(sct, ctlog, otherCT));
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

// Plain OCI distribution pushes (the loopback registry needs no auth).
async function pushBlob(base, bytes) {
  const digest = `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
  const r = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  if (r.status !== 202) throw new Error(`blob upload: ${r.status}`);
  const loc = new URL(r.headers.get('location'), base);
  loc.searchParams.set('digest', digest);
  const p = await fetch(loc, { method: 'PUT', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  if (p.status !== 201) throw new Error(`blob put: ${p.status}`);
  return { digest, size: bytes.length };
}

// cosign's keyless signature image, as `cosign sign` writes it.
async function pushCosign(a, payload, json, caRoot) {
  const [reg, ...repo] = a.image.split('/');
  const base = `http://${reg}/v2/${repo.join('/')}`;
  const pem = (der) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
  const vm = json.verificationMaterial;
  const e = vm.tlogEntries[0];
  const annotations = {
    'dev.cosignproject.cosign/signature': json.messageSignature.signature,
    'dev.sigstore.cosign/certificate': pem(Buffer.from((vm.certificate || vm.x509CertificateChain.certificates[0]).rawBytes, 'base64')),
    'dev.sigstore.cosign/chain': pem(caRoot),
  };
  if (e) {
    annotations['dev.sigstore.cosign/bundle'] = JSON.stringify({
      SignedEntryTimestamp: e.inclusionPromise.signedEntryTimestamp,
      Payload: {
        body: e.canonicalizedBody,
        integratedTime: Number(e.integratedTime),
        logIndex: Number(e.logIndex),
        logID: Buffer.from(e.logId.keyId, 'base64').toString('hex'),
      },
    });
  }
  const layer = { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...(await pushBlob(base, payload)), annotations };
  const config = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } }));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...(await pushBlob(base, config)) },
    layers: [layer],
  };
  const tag = `${a.digest.replace(':', '-')}.sig`;
  const r = await fetch(`${base}/manifests/${tag}`, {
    method: 'PUT',
    body: JSON.stringify(manifest),
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (r.status !== 201) throw new Error(`manifest put: ${r.status}`);
  process.stdout.write(`${tag}\n`);
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
  const other = await authorities(host);
  const mine = await authorities(host, a.sct, other.ctlog);
  handlers.push(mock.fulcioHandler(mine.ca), mock.rekorHandler(mine.tlog), mock.rekorV2Handler(mine.tlog));

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
  const witnesses = [new RekorWitness({
    rekorBaseURL: `http://${host}`, majorApiVersion: a.flags.has('rekor-v2') ? 2 : 1,
  })];
  if (a.flags.has('tsa')) {
    const tsa = await mock.initializeTSA(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    handlers.push(mock.tsaHandler(tsa));
    witnesses.push(new TSAWitness({ tsaBaseURL: `http://${host}` }));
    mine.root.timestampAuthorities = [{
      subject: { organization: 'sigstore.mock', commonName: 'tsa' },
      uri: `http://${host}`,
      certChain: { certificates: [tsa.intCertificate, tsa.rootCertificate].map((c) => ({ rawBytes: Buffer.from(c).toString('base64') })) },
      validFor: { start: mine.root.certificateAuthorities[0].validFor.start },
    }];
  }
  let bundle;
  let cosignPayload;
  if (a.flags.has('cosign')) {
    cosignPayload = Buffer.from(JSON.stringify({
      critical: {
        identity: { 'docker-reference': a.image },
        image: { 'docker-manifest-digest': named },
        type: 'cosign container image signature',
      },
      optional: null,
    }));
    bundle = await new MessageSignatureBundleBuilder({ signer, witnesses }).create({ data: cosignPayload });
  } else if (a.flags.has('message')) {
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
    const data = Buffer.from(JSON.stringify({ ...statement, predicate: { other: true } }));
    const other = cosignPayload || a.flags.has('message')
      ? await new MessageSignatureBundleBuilder({ signer, witnesses }).create({ data })
      : await new DSSEBundleBuilder({ signer, witnesses }).create({ data, type: 'application/vnd.in-toto+json' });
    bundle.verificationMaterial.tlogEntries = other.verificationMaterial.tlogEntries;
  }
  server.close();

  let json = JSON.parse(JSON.stringify(require('@sigstore/bundle').bundleToJSON(bundle)));
  if (a.flags.has('tamper') && cosignPayload) {
    cosignPayload = Buffer.from(cosignPayload.toString().replace('"optional":null', '"optional":{"tampered":true}'));
  } else if (a.flags.has('tamper')) {
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
  if (cosignPayload) await pushCosign(a, cosignPayload, json, mine.ca.rootCertificate);
  else if (!a.flags.has('no-attach')) await attach(a, bytes, json.mediaType);
}

main().catch((e) => {
  process.stderr.write(`sign.js: ${e.stack || e}\n${e.cause ? `cause: ${e.cause.stack || e.cause}\n` : ''}`);
  process.exit(1);
});
