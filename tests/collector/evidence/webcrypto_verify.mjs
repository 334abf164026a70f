// Verify a WACZ anonymous signature (the signedData JSON on stdin) the way ReplayWeb.page does
// (wabac.js src/wacz/certutils.ts, verifyWACZSignature, the publicKey branch): WebCrypto imports the
// base64 SubjectPublicKeyInfo as an ECDSA P-384 key and verifies the base64 signature of the hash
// string's UTF-8 bytes with ECDSA SHA-256. Prints "valid" or "invalid"; exit 2 on an import error.
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const signed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const subtle = globalThis.crypto.subtle;
let key;
try {
  key = await subtle.importKey("spki", Buffer.from(signed.publicKey, "base64"),
                               { name: "ECDSA", namedCurve: "P-384" }, true, ["verify"]);
} catch (err) {
  console.log(`import failed: ${err.name}: ${err.message}`);
  process.exit(2);
}
const ok = await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key,
                               Buffer.from(signed.signature, "base64"),
                               new TextEncoder().encode(signed.hash));
console.log(ok ? "valid" : "invalid");
