"""The lab half of swarmkeeper's benchmarks (run by tests/bench/run).

Every engine figure comes from one instrument for both tools: a counting
proxy in front of the lab's docker socket (each HTTP request counted as a
read — GET, HEAD — or a write, with its time). AWS calls come from
swarmkeeper's own per-call counter (`reconcile -o json`): no peer talks to
AWS here. Prints one JSON document with every figure; `render.py` turns it
and criterion's estimates into docs/benchmarks.md.

    python3 lab_bench.py --binary target/release/swarmkeeper [--only NAME ...]

Needs the lab up (tests/lab/up) and its environment (tests/lab/lab.env).
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.environ.get("SWARMKEEPER_LAB_DIR", "/tmp/swarmkeeper-lab")
ENGINE = os.path.join(LAB, "docker.sock")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---- the counting proxy -------------------------------------------------------

class CountingProxy:
    """A unix-socket HTTP proxy to the engine that records every request."""

    def __init__(self, upstream, path):
        self.upstream, self.path = upstream, path
        self.events = []  # (time, method, path)
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        if os.path.exists(self.path):
            os.remove(self.path)
        server = self.loop.run_until_complete(asyncio.start_unix_server(self._client, path=self.path))
        self.server = server
        self.ready.set()
        self.loop.run_forever()

    async def _client(self, creader, cwriter):
        try:
            ureader, uwriter = await asyncio.open_unix_connection(self.upstream)
        except OSError:
            cwriter.close()
            return
        down = asyncio.ensure_future(self._pipe(ureader, cwriter))
        try:
            await self._requests(creader, uwriter)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                await asyncio.wait_for(down, 600)
            except Exception:
                pass
            for w in (uwriter, cwriter):
                w.close()

    async def _pipe(self, reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            try:
                writer.write_eof()
            except (OSError, RuntimeError):
                pass

    async def _requests(self, reader, writer):
        """Forward requests one by one, recording each request line."""
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target = (line.split(" ") + ["", ""])[:2]
            with self.lock:
                self.events.append((time.time(), method, target.split("?")[0]))
            writer.write(head)
            headers = {}
            for h in head.split(b"\r\n")[1:]:
                if b":" in h:
                    k, v = h.split(b":", 1)
                    headers[k.strip().lower()] = v.strip().lower()
            if b"upgrade" in headers.get(b"connection", b""):
                await self._pipe(reader, writer)  # hijacked (attach): raw from now on
                return
            if headers.get(b"transfer-encoding") == b"chunked":
                while True:
                    size_line = await reader.readuntil(b"\r\n")
                    writer.write(size_line)
                    size = int(size_line.split(b";")[0], 16)
                    writer.write(await reader.readexactly(size + 2))
                    if size == 0:
                        break
            else:
                n = int(headers.get(b"content-length", b"0") or 0)
                if n:
                    writer.write(await reader.readexactly(n))
            await writer.drain()

    def mark(self):
        with self.lock:
            return len(self.events)

    def since(self, mark):
        with self.lock:
            return list(self.events[mark:])

    @staticmethod
    def count(events):
        reads = sum(1 for _, m, _ in events if m in ("GET", "HEAD"))
        return {"reads": reads, "writes": len(events) - reads}


# ---- helpers ------------------------------------------------------------------

def run(args, env=None, check=True, timeout=600):
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {r.returncode}: {r.stderr[-2000:]}")
    return r


def env_with(sock, **extra):
    e = dict(os.environ)
    e["DOCKER_HOST"] = "unix://" + sock
    e["NO_COLOR"] = "1"
    e.update(extra)
    return e


def docker(*args, sock=ENGINE, check=True):
    return run(["docker", "-H", "unix://" + sock, *args], check=check)


def reset(binary):
    """No managed stack, no docker stack: every test starts from here."""
    empty = tempfile.mkdtemp(prefix="sk-bench-empty-")
    with open(os.path.join(empty, "swarmkeeper.yaml"), "w") as f:
        f.write("version: 1\n")
    run([binary, "reconcile", empty, "--allow-empty"], env=env_with(ENGINE))
    shutil.rmtree(empty)
    for stack in docker("stack", "ls", "--format", "{{.Name}}").stdout.split():
        docker("stack", "rm", stack, check=False)
    deadline = time.time() + 120
    while time.time() < deadline:
        left = docker("service", "ls", "-q").stdout.strip() + docker(
            "network", "ls", "-q", "--filter", "label=com.docker.stack.namespace").stdout.strip() + docker(
            "ps", "-q").stdout.strip()
        if not left:
            return
        time.sleep(0.5)
    raise RuntimeError("the lab did not empty within 120 s")


def reset_aws():
    """An empty moto account (then the certificate the example routes need,
    and the database password it reads from SSM).
    The example's cluster stays moto records: the benches that run it adopt
    the lab's own swarm, which its instances must not join."""
    import urllib.request
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"), timeout=30)
    run([sys.executable, os.path.join(REPO, "tests/lab/acm-certificate.py"), "cloud.example.com"])
    run([sys.executable, os.path.join(REPO, "tests/lab/example-values.py")])
    moto_only("cloud")


def moto_only(cluster):
    """The lab's node agent leaves this cluster's instances alone (and
    stops the nodes it runs for it)."""
    marks = os.path.join(LAB, "nodes", "moto-only")
    os.makedirs(marks, exist_ok=True)
    open(os.path.join(marks, cluster), "w").close()


def swarmkeeper_json(binary, sock, directory):
    # The lab's swarm is hand-built: the example's cluster adopts it.
    r = run([binary, "reconcile", "--adopt-swarm", directory, "-o", "json"], env=env_with(sock))
    return json.loads(r.stdout)


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# ---- the benchmarks -------------------------------------------------------------

def api_economy(binary, proxy):
    """Engine and AWS calls: swarmkeeper on the example (first apply, no-op,
    one-field change) and docker stack deploy on the same compose file."""
    reset(binary)
    reset_aws()
    example = tempfile.mkdtemp(prefix="sk-bench-example-")
    shutil.copytree(os.path.join(REPO, "manifests/examples/nextcloud"), example, dirs_exist_ok=True)
    out = {}
    for name, change in (("first apply", None), ("no-op", None), ("one-field change", True)):
        if change:
            path = os.path.join(example, "stacks/nextcloud.yml")
            with open(path) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write(text.replace("OVERWRITEPROTOCOL: https", "OVERWRITEPROTOCOL: http", 1))
        mark = proxy.mark()
        doc = swarmkeeper_json(binary, proxy.path, example)
        engine = proxy.count(proxy.since(mark))
        out[f"swarmkeeper {name}"] = {"engine": engine, "aws": doc["api_calls"]["aws"]}
    reset(binary)
    # The same compose file through docker stack deploy, with the same
    # variables (docker reads them from the environment only).
    variables = {}
    with open(os.path.join(example, "stacks/nextcloud.env")) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.strip().split("=", 1)
                variables[k] = v
    compose = os.path.join(example, "stacks/nextcloud.yml")
    # docker reads a secret from a file only: the SSM reference becomes one.
    with open(compose) as f:
        text = f.read()
    start = text.index("    x-swarmkeeper:\n      source: ssm:")
    end = text.index("\n", text.index("source: ssm:", start)) + 1
    with open(compose, "w") as f:
        f.write(text[:start] + "    file: ./postgres_password.txt\n" + text[end:])
    with open(os.path.join(example, "stacks/postgres_password.txt"), "w") as f:
        f.write("bench password\n")
    for name in ("first deploy", "no-op redeploy"):
        mark = proxy.mark()
        run(["docker", "stack", "deploy", "-c", compose, "nextcloud"], env=env_with(proxy.path, **variables))
        out[f"docker stack deploy {name}"] = {"engine": proxy.count(proxy.since(mark))}
    docker("stack", "rm", "nextcloud")
    shutil.rmtree(example)
    reset(binary)
    return out


def stack_of(n):
    lines = ["services:"]
    for i in range(n):
        lines += [f"  s{i:02}:", "    image: swarmkeeper-lab/web:1", "    deploy:", "      replicas: 1"]
    return "\n".join(lines) + "\n"


def all_running(stack, n):
    r = docker("service", "ls", "--filter", f"label=com.docker.stack.namespace={stack}", "--format", "{{.Replicas}}")
    reps = r.stdout.split()
    return len(reps) == n and all(x.split("/")[0] == x.split("/")[1].split(" ")[0] for x in reps)


def converge_time(binary, proxy, services=50, rounds=3):
    """A 50-service stack: swarmkeeper vs docker stack deploy, alternating."""
    work = tempfile.mkdtemp(prefix="sk-bench-converge-")
    compose = os.path.join(work, "c50.yml")
    with open(compose, "w") as f:
        f.write(stack_of(services))
    with open(os.path.join(work, "swarmkeeper.yaml"), "w") as f:
        f.write("version: 1\nstacks:\n  c50:\n    compose: c50.yml\n")
    # docker stack deploy resolves each image's digest with the registry
    # first (--resolve-image always); the lab has no registry, so that is
    # measured apart: with and without it.
    runs = {"swarmkeeper": [], "docker stack deploy": [], "docker stack deploy --resolve-image never": []}
    for _ in range(rounds):
        for tool in runs:
            reset(binary)
            mark = proxy.mark()
            t0 = time.time()
            if tool == "swarmkeeper":
                run([binary, "reconcile", work], env=env_with(proxy.path))
            else:
                extra = tool.split(" ")[3:]
                run(["docker", "stack", "deploy", *extra, "-c", compose, "c50"], env=env_with(proxy.path))
            t_calls = time.time() - t0
            while not all_running("c50", services):
                if time.time() - t0 > 300:
                    raise RuntimeError(f"{tool}: tasks not running after 300 s")
                time.sleep(0.1)
            t_running = time.time() - t0
            runs[tool].append({"calls_done_s": t_calls, "all_running_s": t_running,
                               "engine": proxy.count(proxy.since(mark))})
    reset(binary)
    shutil.rmtree(work)
    out = {}
    for tool, rs in runs.items():
        out[tool] = {
            "calls_done_s": statistics.median(r["calls_done_s"] for r in rs),
            "all_running_s": statistics.median(r["all_running_s"] for r in rs),
            "engine": rs[0]["engine"],
            "rounds": len(rs),
        }
    for peer, key in (("docker stack deploy", ""), ("docker stack deploy --resolve-image never", "_no_resolve")):
        out["ratio_calls_done" + key] = out["swarmkeeper"]["calls_done_s"] / out[peer]["calls_done_s"]
        out["ratio_all_running" + key] = out["swarmkeeper"]["all_running_s"] / out[peer]["all_running_s"]
    return out


class Controller:
    def __init__(self, binary, directory, sock, port, *extra):
        self.proc = subprocess.Popen(
            [binary, "run", directory, "--listen", f"127.0.0.1:{port}", *extra],
            env=env_with(sock), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(check, secs, what):
    deadline = time.time() + secs
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def scale_stack(n):
    lines = ["services:"]
    for i in range(n):
        lines += [f"  s{i:04}:", "    image: swarmkeeper-lab/web:1", "    deploy:", "      replicas: 0"]
    return "\n".join(lines) + "\n"


def node_image():
    """The lab's web image as its public registry serves it: what a node of
    the multi-node lab pulls (no image is loaded into a node by hand)."""
    return f"{os.environ['SWARMKEEPER_LAB_PUBLIC_REGISTRY']}/lab/web:1"


def at_scale(binary, proxy, services=1000, rounds=3):
    """A 1,000-service stack with replicas 0 (only the engine's work counts,
    no task starts): first apply and no-op reconcile, swarmkeeper beside
    docker stack deploy --resolve-image never, alternating, medians."""
    work = tempfile.mkdtemp(prefix="sk-bench-scale-")
    compose = os.path.join(work, "big.yml")
    with open(compose, "w") as f:
        f.write(scale_stack(services))
    with open(os.path.join(work, "swarmkeeper.yaml"), "w") as f:
        f.write("version: 1\nstacks:\n  big:\n    compose: big.yml\n")
    tools = ("swarmkeeper", "docker stack deploy --resolve-image never")
    runs = {(tool, phase): [] for tool in tools for phase in ("first apply", "no-op")}
    for _ in range(rounds):
        for tool in tools:
            reset(binary)
            for phase in ("first apply", "no-op"):
                mark = proxy.mark()
                t0 = time.time()
                if tool == "swarmkeeper":
                    run([binary, "reconcile", work], env=env_with(proxy.path), timeout=1800)
                else:
                    run(["docker", "stack", "deploy", "--resolve-image", "never", "-c", compose, "big"],
                        env=env_with(proxy.path), timeout=1800)
                took = time.time() - t0
                runs[(tool, phase)].append({"s": took, "engine": proxy.count(proxy.since(mark))})
                log(f"scale: {tool} {phase}: {took:.2f} s")
    reset(binary)
    shutil.rmtree(work)
    out = {"services": services, "rounds": rounds}
    for (tool, phase), rs in runs.items():
        out[f"{tool} {phase}"] = {
            "s": statistics.median(r["s"] for r in rs),
            "engine": rs[-1]["engine"],
        }
    for phase in ("first apply", "no-op"):
        out[f"ratio {phase}"] = out[f"swarmkeeper {phase}"]["s"] / out[f"{tools[1]} {phase}"]["s"]
    return out


def first_request(proxy, mark, wanted, what, secs=30):
    """The first request since `mark` that `wanted` accepts: (time, method, path)."""
    found = []

    def seen():
        found[:] = [e for e in proxy.since(mark) if wanted(e)][:1]
        return bool(found)

    wait_for(seen, secs, what)
    return found[0]


def change_latency(binary, proxy, edits=20):
    """`swarmkeeper run` on a directory: file write → first engine write."""
    reset(binary)
    work = tempfile.mkdtemp(prefix="sk-bench-latency-")
    web = lambda tag: f"services:\n  web:\n    image: swarmkeeper-lab/web:{tag}\n"
    with open(os.path.join(work, "swarmkeeper.yaml"), "w") as f:
        f.write("version: 1\nstacks:\n  lat:\n    compose: lat.yml\n")
    with open(os.path.join(work, "lat.yml"), "w") as f:
        f.write(web(1))
    ctl = Controller(binary, work, proxy.path, free_port(), "--resync", "10m")
    try:
        wait_for(lambda: "lat_web" in docker("service", "ls", "--format", "{{.Name}}").stdout, 60, "the first apply")
        time.sleep(2)
        samples = []
        for i in range(edits):
            mark = proxy.mark()
            t0 = time.time()
            with open(os.path.join(work, "lat.yml"), "w") as f:
                f.write(web(2 if i % 2 == 0 else 1))
            first = first_request(proxy, mark, lambda e: e[1] not in ("GET", "HEAD"), f"edit {i} to reach the engine")
            samples.append(first[0] - t0)
            time.sleep(1.5)  # let the cycle finish before the next edit
    finally:
        ctl.stop()
    reset(binary)
    shutil.rmtree(work)
    return {"edits": edits, "p50_s": percentile(samples, 0.5), "p95_s": percentile(samples, 0.95),
            "max_s": max(samples)}


def git(work, *args):
    return run(["git", "-C", work, "-c", "user.name=bench", "-c", "user.email=bench@swarmkeeper.invalid", *args])


def webhook_latency(binary, proxy, pushes=20):
    """`swarmkeeper run --git` with a webhook (the fetch interval an hour, so
    only the webhook brings a commit in): git push → first engine write."""
    import hashlib
    import hmac
    import urllib.request
    reset(binary)
    root = tempfile.mkdtemp(prefix="sk-bench-webhook-")
    origin, work = os.path.join(root, "origin.git"), os.path.join(root, "work")
    run(["git", "init", "-q", "--bare", origin])
    run(["git", "init", "-q", work])
    secret = "bench webhook secret"
    with open(os.path.join(root, "secret"), "w") as f:
        f.write(secret + "\n")
    web = lambda tag: f"services:\n  web:\n    image: swarmkeeper-lab/web:{tag}\n"

    def commit(tag, message):
        with open(os.path.join(work, "hook.yml"), "w") as f:
            f.write(web(tag))
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", message)

    with open(os.path.join(work, "swarmkeeper.yaml"), "w") as f:
        f.write("version: 1\nstacks:\n  hook:\n    compose: hook.yml\n")
    commit(1, "web 1")
    git(work, "push", "-q", "file://" + origin, "HEAD:refs/heads/main")
    port = free_port()
    ctl = Controller(binary, ".", proxy.path, port, "--resync", "10m", "--git", "file://" + origin,
                     "--git-interval", "1h", "--webhook-secret-file", os.path.join(root, "secret"))
    try:
        wait_for(lambda: "hook_web" in docker("service", "ls", "--format", "{{.Name}}").stdout, 60, "the first apply")
        time.sleep(2)
        samples = []
        for i in range(pushes):
            commit(2 if i % 2 == 0 else 1, f"push {i}")
            after = git(work, "rev-parse", "HEAD").stdout.strip()
            body = json.dumps({"ref": "refs/heads/main", "after": after}).encode()
            signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            mark = proxy.mark()
            t0 = time.time()
            git(work, "push", "-q", "file://" + origin, "HEAD:refs/heads/main")
            # What a forge does once the push is received.
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/hooks/git", data=body, method="POST",
                headers={"Content-Type": "application/json", "X-GitHub-Event": "push",
                         "X-Hub-Signature-256": signature})
            with urllib.request.urlopen(req, timeout=10) as answer:
                if answer.status != 202:
                    raise RuntimeError(f"the webhook answered {answer.status}")
            # The service's update, not the lease's renewal (a config write).
            first = first_request(proxy, mark, lambda e: e[1] == "POST" and "/services/" in e[2],
                                  f"push {i} to reach the engine")
            samples.append(first[0] - t0)
            time.sleep(1.5)  # let the cycle finish before the next push
    finally:
        ctl.stop()
    reset(binary)
    shutil.rmtree(root)
    return {"pushes": pushes, "p50_s": percentile(samples, 0.5), "p95_s": percentile(samples, 0.95),
            "max_s": max(samples)}


def footprint(binary, seconds=300):
    """`swarmkeeper run` idle on the example (30 s resync): RSS and CPU."""
    reset(binary)
    moto_only("cloud")
    ctl = Controller(binary, os.path.join(REPO, "manifests/examples/nextcloud"), ENGINE, free_port(),
                     "--resync", "30s", "--adopt-swarm")
    try:
        time.sleep(15)  # the first apply, then idle
        pid = ctl.proc.pid
        tick = os.sysconf("SC_CLK_TCK")

        def cpu():
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick

        def rss_mib():
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
            return 0.0

        c0, t0 = cpu(), time.time()
        rss = []
        while time.time() - t0 < seconds:
            rss.append(rss_mib())
            time.sleep(5)
        c1, t1 = cpu(), time.time()
    finally:
        ctl.stop()
    reset(binary)
    return {"seconds": round(t1 - t0), "rss_max_mib": max(rss), "rss_median_mib": statistics.median(rss),
            "cpu_percent_of_one_core": 100 * (c1 - c0) / (t1 - t0),
            "binary_mib": os.path.getsize(binary) / (1024 * 1024)}


def cluster_yaml(cluster, workers, stack, extra=""):
    """A cluster of 1 manager and `workers` workers (t3.small, Amazon
    Linux) with one stack `stack` from `<stack>.yml`; `extra`: more lines
    under `cluster:`."""
    ami = "ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    return f"""version: 1
cluster:
  name: {cluster}
  region: eu-west-1
  managers: {{ count: 1, instance_type: t3.small, ami: "{ami}" }}
  workers: {{ count: {workers}, instance_type: t3.small, ami: "{ami}" }}
{extra}stacks:
  {stack}:
    compose: {stack}.yml
"""


def failure_reaction(binary, kills=5, replace_after=5):
    """The multi-node lab: a worker's dockerd killed → the swarm marks it
    Down (its own detection) → swarmkeeper removes it and terminates its
    instance for a replacement (its reaction, less replace_after)."""
    import boto3
    cluster = f"bench{os.getpid() % 10000}"
    state = os.path.join(LAB, "nodes")
    seed_dir = os.path.join(state, f"seed-{cluster}")
    # A seed manager; the lab's node agent boots the cluster's instances.
    agent = subprocess.Popen([sys.executable, os.path.join(REPO, "tests/lab/node-agent"), "--seed", cluster],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctl = None
    work = tempfile.mkdtemp(prefix="sk-bench-nodes-")
    try:
        wait_for(lambda: os.path.exists(os.path.join(seed_dir, "ready")), 120, "the seed manager")
        seed = os.path.join(seed_dir, "docker.sock")
        proxy = CountingProxy(seed, os.path.join(LAB, "bench-seed-proxy.sock"))
        with open(os.path.join(work, "swarmkeeper.yaml"), "w") as f:
            f.write(cluster_yaml(cluster, 2, "app", f"  replace_after: {replace_after}s\n"))
        with open(os.path.join(work, "app.yml"), "w") as f:
            f.write(f"services:\n  web:\n    image: {node_image()}\n    deploy:\n      replicas: 2\n")
        ctl = Controller(binary, work, proxy.path, free_port(), "--resync", "30s")
        ec2 = boto3.client("ec2", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="eu-west-1")

        def workers():
            ids = docker("node", "ls", "-q", "--filter", "role=worker", sock=seed).stdout.split()
            if not ids:
                return []
            nodes = json.loads(docker("node", "inspect", *ids, sock=seed).stdout)
            return [n for n in nodes if n["Spec"].get("Labels", {}).get("io.swarmkeeper.pool") == "workers"
                    and n["Status"]["State"] == "ready"]

        def instance_state(iid):
            r = ec2.describe_instances(InstanceIds=[iid])["Reservations"]
            return r[0]["Instances"][0]["State"]["Name"] if r else "gone"

        samples = []
        for k in range(kills):
            wait_for(lambda: len(workers()) == 2, 240, "2 ready workers")
            victim = workers()[0]
            node_id = victim["ID"]
            iid = victim["Description"]["Engine"]["Labels"]["swarmkeeper.instance-id"]
            with open(os.path.join(state, iid, "pid")) as f:
                pid = int(f.read().strip())
            mark = proxy.mark()
            t_kill = time.time()
            os.kill(pid, signal.SIGKILL)
            t_down = t_removed = t_terminated = None
            deadline = time.time() + 180
            while time.time() < deadline and not (t_down and t_removed and t_terminated):
                now = time.time()
                if not t_down:
                    r = docker("node", "inspect", "--format", "{{.Status.State}}", node_id, sock=seed, check=False)
                    if r.returncode != 0 or r.stdout.strip() == "down":
                        t_down = now
                if not t_removed:
                    hit = [e for e in proxy.since(mark) if e[1] == "DELETE" and e[2].endswith("/nodes/" + node_id)]
                    if hit:
                        t_removed = hit[0][0]
                if not t_terminated and instance_state(iid) in ("shutting-down", "terminated", "gone"):
                    t_terminated = time.time()
                time.sleep(0.1)
            if not (t_down and t_removed and t_terminated):
                raise RuntimeError(f"kill {k}: down={t_down} removed={t_removed} terminated={t_terminated}")
            samples.append({"detect_s": t_down - t_kill, "removed_after_down_s": t_removed - t_down,
                            "terminated_after_down_s": t_terminated - t_down})
            log(f"kill {k}: {samples[-1]}")
        med = lambda key: statistics.median(s[key] for s in samples)
        return {"kills": kills, "replace_after_s": replace_after, "heartbeat_s": 2,
                "swarm_detection_p50_s": med("detect_s"),
                "removed_after_down_p50_s": med("removed_after_down_s"),
                "replacement_requested_after_down_p50_s": med("terminated_after_down_s"),
                "reaction_beyond_replace_after_p50_s": med("terminated_after_down_s") - replace_after,
                "samples": samples}
    finally:
        if ctl:
            ctl.stop()
        # The cluster's nodes go with it: the agent leaves moto-only clusters alone.
        os.makedirs(os.path.join(state, "moto-only"), exist_ok=True)
        open(os.path.join(state, "moto-only", cluster), "w").close()
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(120)
        except subprocess.TimeoutExpired:
            agent.kill()
        shutil.rmtree(work, ignore_errors=True)


def bootstrap(binary):
    """From an empty account to the stack running, through the real user
    data (1 manager, 1 worker), then destroy. stderr lines are timestamped
    as they arrive: swarmkeeper's own time is before "The AWS half is
    applied" and after "swarm formed"; between them the instances boot."""
    reset(binary)
    reset_aws()
    cluster = f"bboot{os.getpid() % 10000}"
    work = tempfile.mkdtemp(prefix="sk-bench-bootstrap-")
    with open(os.path.join(work, "swarmkeeper.yaml"), "w") as f:
        f.write(cluster_yaml(cluster, 1, "site"))
    with open(os.path.join(work, "site.yml"), "w") as f:
        f.write(f"services:\n  web:\n    image: {node_image()}\n    deploy:\n      placement:\n"
                "        constraints: [node.role == worker]\n")
    env = {k: v for k, v in env_with(ENGINE).items() if k != "DOCKER_HOST"}
    nodes = os.path.join(LAB, "nodes")

    def timed(args):
        """Run, returning (seconds, {marker: seconds since start})."""
        t0 = time.time()
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seen = {}
        for line in proc.stderr:
            for marker in ("The AWS half is applied", "swarm formed"):
                if marker in line and marker not in seen:
                    seen[marker] = time.time() - t0
        if proc.wait(900) != 0:
            raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}")
        return time.time() - t0, seen

    def manager_sock():
        for name in os.listdir(nodes):
            sock = os.path.join(nodes, name, "docker.sock")
            if name.startswith("i-") and os.path.exists(sock):
                r = docker("info", "--format", "{{.Swarm.ControlAvailable}}", sock=sock, check=False)
                if r.stdout.strip() == "true":
                    return sock
        return None

    def running():
        sock = manager_sock()
        if not sock:
            return False
        r = docker("service", "ls", "--format", "{{.Name}} {{.Replicas}}", sock=sock, check=False)
        return "site_web 1/1" in r.stdout

    t0 = time.time()
    total, seen = timed([binary, "reconcile", work, "--swarm-timeout", "600s"])
    wait_for(running, 300, "site_web running")
    to_running = time.time() - t0
    aws_half, formed = seen["The AWS half is applied"], seen["swarm formed"]
    instances = [n for n in os.listdir(nodes) if n.startswith("i-")]
    t1 = time.time()
    destroy, _ = timed([binary, "destroy", work, "--yes"])
    wait_for(lambda: not any(os.path.exists(os.path.join(nodes, n)) for n in instances), 300,
             "the cluster's nodes stopped")
    nodes_gone = time.time() - t1
    moto_only(cluster)
    shutil.rmtree(work, ignore_errors=True)
    out = {"reconcile_s": total, "to_stack_running_s": to_running,
           "swarmkeeper_own_s": aws_half + (total - formed), "instances_boot_s": formed - aws_half,
           "swarm_half_to_running_s": to_running - formed, "destroy_s": destroy, "destroy_to_nodes_gone_s": nodes_gone}
    log(f"bootstrap: {out}")
    return out


BENCHES = {
    "api_economy": lambda b, p, a: api_economy(b, p),
    "converge": lambda b, p, a: converge_time(b, p),
    "scale": lambda b, p, a: at_scale(b, p),
    "latency": lambda b, p, a: change_latency(b, p),
    "webhook": lambda b, p, a: webhook_latency(b, p),
    "failure": lambda b, p, a: failure_reaction(b),
    "footprint": lambda b, p, a: footprint(b, a.footprint_seconds),
    "bootstrap": lambda b, p, a: bootstrap(b),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--only", nargs="*", default=list(BENCHES))
    parser.add_argument("--footprint-seconds", type=int, default=300)
    args = parser.parse_args()
    proxy = CountingProxy(ENGINE, os.path.join(LAB, "bench-proxy.sock"))
    results = {}
    for name in args.only:
        log(f"{name} ...")
        t = time.time()
        results[name] = BENCHES[name](args.binary, proxy, args)
        log(f"{name} done in {time.time() - t:.0f} s: {json.dumps(results[name])}")
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
