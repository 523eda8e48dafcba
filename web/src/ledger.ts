// Checks, in the browser, that an audit event is in the ledger: the event's canonical JSON is
// hashed to its leaf (RFC 9162: SHA-256(0x00 ‖ entry)), the server's inclusion proof must
// lead from that leaf to the root of the current tree head, and that head's Ed25519
// signature must verify under the ledger's public key.

import { ed25519 } from "@noble/curves/ed25519";
import { sha256 } from "@noble/hashes/sha2";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils";

/** The ledger's canonical JSON: object keys sorted, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function prefixed(prefix: number, ...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 1);
  const buffer = new Uint8Array(length);
  buffer[0] = prefix;
  let offset = 1;
  for (const part of parts) {
    buffer.set(part, offset);
    offset += part.length;
  }
  return buffer;
}

export function leafHash(entry: string): Uint8Array {
  return sha256(prefixed(0x00, utf8ToBytes(entry)));
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(prefixed(0x01, left, right));
}

/** RFC 9162 §2.1.3.2: verifies an inclusion proof of leaf `index` in a tree of `size` leaves. */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  path: string[],
  rootHex: string,
): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const hex of path) {
    const p = hexToBytes(hex);
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesToHex(r) === rootHex.toLowerCase();
}

export interface SignedHead {
  tree_size: number;
  root: string;
  timestamp_ms: number;
  signature: string;
}

const HEAD_DOMAIN = utf8ToBytes("meditrustal-tree-head-v1\0");

/**
 * The 73 signed bytes (crates/ledger/src/tree_head.rs): domain ‖ tree_size (u64 BE) ‖ root ‖
 * timestamp_ms (u64 BE).
 */
export function treeHeadSignatureValid(head: SignedHead, publicKeyHex: string): boolean {
  const message = new Uint8Array(73);
  message.set(HEAD_DOMAIN, 0);
  const view = new DataView(message.buffer);
  view.setBigUint64(25, BigInt(head.tree_size));
  message.set(hexToBytes(head.root), 33);
  view.setBigUint64(65, BigInt(head.timestamp_ms));
  try {
    return ed25519.verify(hexToBytes(head.signature), message, hexToBytes(publicKeyHex));
  } catch {
    return false;
  }
}
