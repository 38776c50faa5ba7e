#!/usr/bin/env python3
"""compose_diff.py - differential test: `lo2 config` against `docker-compose config`.

Usage: compose_diff.py LO2_BINARY COMPOSE_FILE...

For each file, both tools print the normalised model; the fields both print are brought to
one shape (ports as (ip, published, target, protocol), volumes as (type, source, target,
read_only), durations in ns, strings split as the shell would, docker-compose's re-escaped
`$$` undone) and compared. Exit 0 when all agree, 1 with the differences, 77 (skip) when
docker-compose or PyYAML is missing. A reference in tests only: lo2 never runs it.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    print("PyYAML is missing; skipping")
    sys.exit(77)

SCALARS = ["image", "container_name", "user", "working_dir", "hostname", "restart", "stop_signal",
           "network_mode", "pid", "ipc", "runtime", "cgroup_parent", "userns_mode", "cpuset", "cpu_shares",
           "cpu_quota", "mem_swappiness", "oom_score_adj"]
FLAGS = ["privileged", "tty", "stdin_open", "init", "read_only", "oom_kill_disable"]
LISTS = ["cap_add", "cap_drop", "extra_hosts", "links", "dns", "dns_search", "security_opt", "dns_opt",
         "group_add", "volumes_from", "devices"]
SIZES = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
UNITS = {"ns": 1, "us": 1000, "µs": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def unescape(v):
    """docker-compose 1.x prints `$` re-escaped as `$$` so that its output loads again."""
    if isinstance(v, str):
        return v.replace("$$", "$")
    if isinstance(v, list):
        return [unescape(x) for x in v]
    if isinstance(v, dict):
        return {k: unescape(x) for k, x in v.items()}
    return v


def duration_ns(v):
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return int(v * 10**9)
    total = 0
    for num, unit in re.findall(r"([0-9.]+)([a-zµ]+)", v):
        total += float(num) * UNITS[unit]
    return int(round(total))


def size(v):
    """A byte size as compose writes it ("64M", "32m", 1024) in bytes."""
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return int(v)
    m = re.fullmatch(r"([0-9.]+)\s*([bkmg]?)b?", str(v).strip().lower())
    return int(float(m.group(1)) * SIZES[m.group(2) or "b"]) if m else v


def cpus(v):
    return None if v is None else round(float(v), 6)


def deploy(v):
    if not v:
        return None
    res = v.get("resources") or {}
    lim, rsv = res.get("limits") or {}, res.get("reservations") or {}
    rp = v.get("restart_policy")
    return {"limits": (cpus(lim.get("cpus")), size(lim.get("memory")), lim.get("pids")),
            "reservations": size(rsv.get("memory")), "replicas": v.get("replicas"),
            "restart_policy": None if rp is None else (rp.get("condition"), rp.get("max_attempts"))}


def build(v):
    if v is None:
        return None
    if isinstance(v, str):
        v = {"context": v}
    hosts = v.get("extra_hosts") or []
    if isinstance(hosts, dict):
        hosts = [f"{k}:{x}" for k, x in hosts.items()]
    return {"context": os.path.normpath(v.get("context", ".")), "dockerfile": v.get("dockerfile", "Dockerfile"),
            "args": env(v.get("args")), "target": v.get("target"), "labels": env(v.get("labels")),
            "network": v.get("network"), "shm_size": size(v.get("shm_size")), "extra_hosts": sorted(hosts)}


def mounted(v, default_dir):
    """secrets:/configs: as (source, target), short and long forms."""
    out = []
    for x in v or []:
        if isinstance(x, str):
            x = {"source": x}
        t = x.get("target") or x["source"]
        out.append((x["source"], t if t.startswith("/") else f"{default_dir}/{t}"))
    return sorted(out)


def words(v):
    if v is None:
        return None
    return shlex.split(v) if isinstance(v, str) else [str(x) for x in v]


def env(v):
    if v is None:
        return {}
    if isinstance(v, list):
        out = {}
        for item in v:
            k, _, val = item.partition("=")
            out[k] = val if "=" in item else None
        return out
    return {k: (None if x is None else str(x)) for k, x in v.items()}


def port_tuple(p):
    if isinstance(p, dict):
        return (p.get("host_ip", "") or "", str(p.get("published", "") or ""), int(p["target"]),
                p.get("protocol", "tcp") or "tcp")
    spec, _, proto = str(p).partition("/")
    parts = spec.rsplit(":", 2)
    target = parts[-1]
    host = parts[-2] if len(parts) > 1 else ""
    ip = parts[-3] if len(parts) > 2 else ""
    return (ip, host, int(target), proto or "tcp")


def volume_tuple(v):
    if isinstance(v, dict):
        return (v["type"], v.get("source"), v["target"], bool(v.get("read_only", False)))
    parts = v.split(":")
    if len(parts) == 1:
        return ("volume", None, parts[0], False)
    src, tgt = parts[0], parts[1]
    mode = parts[2].split(",") if len(parts) > 2 else []
    kind = "bind" if src.startswith(("/", ".", "~")) else "volume"
    return (kind, src, tgt, "ro" in mode)


def networks(v):
    if v is None:
        return {}
    if isinstance(v, list):
        v = {k: None for k in v}
    return {k: sorted((x or {}).get("aliases") or []) for k, x in v.items() if k != "default"}


def depends(v):
    if v is None:
        return {}
    if isinstance(v, list):
        return {k: "service_started" for k in v}
    return {k: (x or {}).get("condition", "service_started") for k, x in v.items()}


def healthcheck(v):
    if not v:
        return None
    test = v.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    return {"test": test, "retries": v.get("retries"),
            **{k: duration_ns(v.get(k)) for k in ("interval", "timeout", "start_period")}}


def ulimits(v):
    out = {}
    for k, x in (v or {}).items():
        out[k] = (x["soft"], x["hard"]) if isinstance(x, dict) else (int(x), int(x))
    return out


def logging(v):
    if not v:
        return None
    return {"driver": v.get("driver"), "options": {k: str(x) for k, x in (v.get("options") or {}).items()}}


def service(s):
    out = {k: s.get(k) for k in SCALARS}
    out.update({k: bool(s.get(k, False)) for k in FLAGS})
    out.update({k: list(s.get(k) or []) for k in LISTS})
    out["command"] = words(s.get("command"))
    out["entrypoint"] = words(s.get("entrypoint"))
    out["environment"] = env(s.get("environment"))
    out["labels"] = env(s.get("labels"))
    out["ports"] = sorted(port_tuple(p) for p in s.get("ports") or [])
    out["volumes"] = sorted((volume_tuple(v) for v in s.get("volumes") or []), key=repr)
    out["networks"] = networks(s.get("networks"))
    out["depends_on"] = depends(s.get("depends_on"))
    out["healthcheck"] = healthcheck(s.get("healthcheck"))
    out["ulimits"] = ulimits(s.get("ulimits"))
    out["logging"] = logging(s.get("logging"))
    out["stop_grace_period"] = duration_ns(s.get("stop_grace_period"))
    out["profiles"] = sorted(s.get("profiles") or [])
    out["deploy"] = deploy(s.get("deploy"))
    out["cpus"] = cpus(s.get("cpus"))
    out["pids_limit"] = s.get("pids_limit")
    out["mem_reservation"] = size(s.get("mem_reservation"))
    out["sysctls"] = env(s.get("sysctls"))
    # docker-compose 1.x writes a service's volumes_from as service:NAME; the specification as NAME.
    out["volumes_from"] = [re.sub(r"^service:", "", v) for v in out["volumes_from"]]
    out["secrets"] = mounted(s.get("secrets"), "/run/secrets")
    out["configs"] = mounted(s.get("configs"), "")
    out["build"] = build(s.get("build"))
    return out


def ipam(v):
    if not v:
        return None
    return {"driver": v.get("driver"),
            "config": [{k: c.get(k) for k in ("subnet", "ip_range", "gateway")} for c in v.get("config") or []]}


def top(model, key):
    return {k: {"external": bool((x or {}).get("external", False)), "labels": env((x or {}).get("labels")),
                "ipam": ipam((x or {}).get("ipam")), "internal": bool((x or {}).get("internal", False))}
            for k, x in (model.get(key) or {}).items() if k != "default"}


def compare(path, lo2_model, ref_model):
    diffs = []
    ls, rs = lo2_model.get("services", {}), ref_model.get("services", {})
    if sorted(ls) != sorted(rs):
        diffs.append(f"services: lo2 {sorted(ls)} vs docker-compose {sorted(rs)}")
    for name in sorted(set(ls) & set(rs)):
        a, b = service(ls[name]), service(rs[name])
        # lo2 lists the implicit dependencies of links: and network_mode: service: too.
        a["depends_on"] = {k: c for k, c in a["depends_on"].items() if k in b["depends_on"]}
        for field in sorted(a):
            if a[field] != b[field]:
                diffs.append(f"services.{name}.{field}: lo2 {a[field]!r} vs docker-compose {b[field]!r}")
    for key in ("networks", "volumes"):
        if top(lo2_model, key) != top(ref_model, key):
            diffs.append(f"{key}: lo2 {top(lo2_model, key)!r} vs docker-compose {top(ref_model, key)!r}")
    for d in diffs:
        print(f"{path}: {d}")
    return not diffs


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    ref = shutil.which("docker-compose")
    if ref is None:
        print("docker-compose is not installed; skipping")
        return 77
    ok = True
    # docker-compose 1.x's config prints every service whatever the profiles; lo2 (as compose v2)
    # prints the active ones, so both run with every profile active.
    run_env = dict(os.environ, COMPOSE_PROFILES="*")
    for path in sys.argv[2:]:
        folder, base = os.path.split(os.path.abspath(path))
        mine = subprocess.run([os.path.abspath(sys.argv[1]), "config", "-f", base], cwd=folder, capture_output=True, text=True,
                              env=run_env)
        theirs = subprocess.run([ref, "-f", base, "config"], cwd=folder, capture_output=True, text=True,
                                env=run_env)
        if mine.returncode != 0 or theirs.returncode != 0:
            print(f"{path}: lo2 exit {mine.returncode} ({mine.stderr.strip()}), "
                  f"docker-compose exit {theirs.returncode} ({theirs.stderr.strip()})")
            ok = False
            continue
        same = compare(path, json.loads(mine.stdout), unescape(yaml.safe_load(theirs.stdout)))
        print(f"{path}: {'agrees' if same else 'DIFFERS'}")
        ok = ok and same
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
