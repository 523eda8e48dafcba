#!/usr/bin/env python3
"""Offline checker of a MediTrustAl export archive (PIPL Art. 45 copy).

Uses only the Python standard library and shares no code with MediTrustAl, so a patient,
a lawyer or a regulator can check a copy without trusting the platform's software:

1. every file in the archive has the SHA-256 that manifest.json lists;
2. every ledger entry in the manifest is included in the signed tree head (RFC 9162
   inclusion proof: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right));
3. every record file matches its ledger entry: same record and version, and
   commitment = SHA-256("meditrustal-content-v1\\0" || salt || SHA-256(file));
4. the tree head's Ed25519 signature verifies under the ledger's public key, over
   "meditrustal-tree-head-v1\\0" || tree_size (u64 BE) || root || timestamp_ms (u64 BE).

Usage: check-export.py ARCHIVE.zip [--public-key HEX]
Pass --public-key with the key the hospital publishes: the key inside the manifest only
proves the archive is self-consistent. Exit status 0 when everything checks, 1 otherwise.
"""

import hashlib
import json
import sys
import zipfile

# ---- Ed25519 verification (RFC 8032 section 5.1.7), plain integers ----------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _inv(x):
    return pow(x, P - 2, P)


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * _inv(D * y * y + 1) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if x & 1 != sign:
        x = P - x
    return x


def _point(x, y):
    """Extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, x*y = T/Z."""
    return (x, y, 1, x * y % P)


def _add(p1, p2):
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(scalar, point):
    result = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _same(p1, p2):
    return (p1[0] * p2[2] - p2[0] * p1[2]) % P == 0 and (p1[1] * p2[2] - p2[1] * p1[2]) % P == 0


def _decode(encoded):
    if len(encoded) != 32:
        return None
    y = int.from_bytes(encoded, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else _point(x, y)


_BASE = _point(_recover_x(4 * _inv(5) % P, 0), 4 * _inv(5) % P)


def ed25519_verify(public_key, message, signature):
    if len(signature) != 64:
        return False
    a = _decode(public_key)
    r = _decode(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % L
    return _same(_mul(s, _BASE), _add(r, _mul(k, a)))


# ---- RFC 9162 -----------------------------------------------------------------------------


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def _node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index, size, leaf, path):
    """RFC 9162 section 2.1.3.2; None when the proof is malformed."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def tree_head_message(size, root, timestamp_ms):
    return b"meditrustal-tree-head-v1\x00" + size.to_bytes(8, "big") + root + timestamp_ms.to_bytes(8, "big")


def commitment(salt, content_sha256):
    return hashlib.sha256(b"meditrustal-content-v1\x00" + salt + content_sha256).hexdigest()


# ---- the check ----------------------------------------------------------------------------


def check(path, pinned_key=None):
    """Returns (problems, summary)."""
    problems = []
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        if manifest.get("format") != "meditrustal-export-v1":
            return [f"unknown format {manifest.get('format')!r}"], ""
        head = manifest["tree_head"]
        size, root = head["tree_size"], bytes.fromhex(head["root"])
        key = bytes.fromhex(manifest["public_key"])
        if pinned_key is not None and key != bytes.fromhex(pinned_key):
            problems.append("the manifest's public key is not the pinned ledger key")
        message = tree_head_message(size, root, head["timestamp_ms"])
        if not ed25519_verify(key, message, bytes.fromhex(head["signature"])):
            problems.append(f"the signature of the tree head at size {size} does not verify")

        entries = {}
        for item in manifest["ledger_entries"]:
            index, entry = item["leaf_index"], item["entry"].encode("utf-8")
            proof = [bytes.fromhex(h) for h in item["inclusion_path"]]
            if root_from_inclusion(index, size, leaf_hash(entry), proof) != root:
                problems.append(f"ledger entry {index} is not included in the signed tree head")
            entries[index] = json.loads(entry)

        listed = set()
        records = 0
        for item in manifest["files"]:
            name = item["path"]
            listed.add(name)
            try:
                data = archive.read(name)
            except (KeyError, zipfile.BadZipFile) as err:
                problems.append(f"{name}: unreadable ({err})")
                continue
            digest = hashlib.sha256(data).digest()
            if digest.hex() != item["sha256"]:
                problems.append(f"{name}: SHA-256 differs from the manifest")
            if "leaf_index" not in item:
                continue
            records += 1
            entry = entries.get(item["leaf_index"])
            if entry is None:
                problems.append(f"{name}: its ledger entry {item['leaf_index']} is not in the manifest")
                continue
            if entry.get("record") != item["record"] or entry.get("version") != item["version"]:
                problems.append(f"{name}: ledger entry {item['leaf_index']} records another version")
            expected = commitment(bytes.fromhex(item["commitment_salt"]), digest)
            if entry.get("commitment") != expected:
                problems.append(f"{name}: content does not match the ledger's commitment")
        for name in archive.namelist():
            if name not in listed and name != "manifest.json":
                problems.append(f"{name}: in the archive but not in the manifest")
    summary = (
        f"{len(manifest['files'])} files ({records} record versions), "
        f"{len(manifest['ledger_entries'])} ledger entries, tree size {size}"
    )
    return problems, summary


def main(argv):
    args = argv[1:]
    pinned = None
    if "--public-key" in args:
        at = args.index("--public-key")
        if at + 1 >= len(args):
            print("usage: check-export.py ARCHIVE.zip [--public-key HEX]", file=sys.stderr)
            return 2
        pinned = args[at + 1]
        del args[at : at + 2]
    if len(args) != 1:
        print("usage: check-export.py ARCHIVE.zip [--public-key HEX]", file=sys.stderr)
        return 2
    try:
        problems, summary = check(args[0], pinned)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as err:
        problems, summary = [f"the archive cannot be read: {err}"], ""
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if problems:
        print(f"FAILED: {len(problems)} problem(s)")
        return 1
    print(f"OK: {summary}; every hash, proof and the signature check")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
