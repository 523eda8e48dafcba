#!/usr/bin/env python3
"""The Python phases of scripts/bench-fhir: `load` registers the patients and loads their
Observations through transaction Bundles (writing the accounts to a JSON file); `search`
times searches as those patients. Usage: PHASE ACCOUNTS.json URL PATIENTS OBS CLIENTS"""
import json, random, statistics, sys, threading, time, uuid
from concurrent.futures import ThreadPoolExecutor
import requests

phase, accounts_file, base = sys.argv[1], sys.argv[2], sys.argv[3]
patients, per_patient, clients = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
fhir = base + "/fhir/r4"
codes = ["8867-4", "8480-6", "8462-4", "8310-5", "9279-1", "2708-6", "2345-7", "718-7", "2160-0", "6690-2"]
local = threading.local()

def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()
    return local.s

def account(i):
    name = "p%05d%s" % (i, uuid.uuid4().hex[:4])
    pw = "Sturdy-Passphrase-42"
    r = session().post(base + "/api/v1/auth/register", json={"username": name, "email": name + "@example.cn", "password": pw, "role": "patient"})
    r.raise_for_status()
    t = session().post(base + "/api/v1/auth/login", json={"username": name, "password": pw}).json()["access_token"]
    return r.json()["id"], t

def observation(pid, rng):
    day = rng.randrange(0, 5 * 365)
    return {"resourceType": "Observation", "status": rng.choice(["final"] * 9 + ["preliminary"]),
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": rng.choice(codes)}]},
            "subject": {"reference": "Patient/" + pid},
            "effectiveDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1577836800 + day * 86400 + rng.randrange(86400))),
            "valueQuantity": {"value": rng.randrange(40, 180), "unit": "1", "system": "http://unitsofmeasure.org", "code": "1"}}

def load(who):
    pid, token = who
    rng = random.Random(pid)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/fhir+json"}
    left = per_patient
    while left > 0:
        n = min(100, left)
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": observation(pid, rng), "request": {"method": "POST", "url": "Observation"}} for _ in range(n)]}
        session().post(fhir + "/", json=bundle, headers=headers).raise_for_status()
        left -= n

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else float("nan")

def load_all():
    t0 = time.time()
    with ThreadPoolExecutor(clients) as pool:
        accounts = list(pool.map(account, range(patients)))
    t1 = time.time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(load, accounts))
    t2 = time.time()
    print(f"load: {patients} accounts in {t1 - t0:.0f} s; {patients * per_patient} Observations in {t2 - t1:.0f} s ({patients * per_patient / (t2 - t1):.0f}/s in transactions of 100)")
    with open(accounts_file, "w") as out:
        json.dump(accounts, out)

def searches(k):
    with open(accounts_file) as f:
        accounts = json.load(f)
    rng, out, totals = random.Random(1000 + k), [], []
    for _ in range(max(1, int(2000 / clients))):
        pid, token = rng.choice(accounts)
        year = rng.choice([2020, 2021, 2022, 2023, 2024])
        q = f"/Observation?code=http://loinc.org|{rng.choice(codes)}&date=ge{year}-01-01&date=lt{year}-07-01&_count=20&_sort=-date"
        a = time.perf_counter()
        r = session().get(fhir + q, headers={"Authorization": "Bearer " + token})
        out.append(time.perf_counter() - a)
        r.raise_for_status(); totals.append(r.json()["total"])
    return out, totals

def search_all():
    for n in (1, clients):
        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(searches, range(n)))
        lat = [x for r in results for x in r[0]]; totals = [x for r in results for x in r[1]]
        print(f"search (patient+code+date range, 20/page) at {n} client(s): {len(lat)} searches, p50 {pct(lat, .5):.1f} ms, p99 {pct(lat, .99):.1f} ms, mean total {statistics.mean(totals):.1f}")

{"load": load_all, "search": search_all}[phase]()
