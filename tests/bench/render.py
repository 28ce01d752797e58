"""Write docs/benchmarks.md from the lab results (lab_bench.py's JSON) and
criterion's estimates (target/criterion/plan/*/*/new/estimates.json).

    python3 render.py LAB_RESULTS.json CRITERION_DIR PLAN_LOG OUT.md
    python3 render.py --section model CRITERION_DIR PLAN_LOG OUT.md
    python3 render.py --section scale LAB_RESULTS.json OUT.md
    python3 render.py --section webhook LAB_RESULTS.json OUT.md

PLAN_LOG is the output of the plan benchmark (its peak heap lines). The
loader benchmark's figures are read beside them: criterion's
CRITERION_DIR/../model and PLAN_LOG's sibling model.log. `--section model`
rewrites only that section of OUT.md (when the lab was not run);
`--section scale` and `--section webhook` likewise for those parts (when
one ran alone).
"""

import json
import os
import platform
import re
import subprocess
import sys
import time

TARGETS = {
    "latency_p50": 1.0,
    "latency_p95": 2.0,
    "converge_ratio": 0.7,
    "plan_ms": 50.0,
    "plan_mib": 64.0,
    "failure_s": 15.0,
    "rss_mib": 25.0,
    "cpu_percent": 0.5,
}


def machine():
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    docker = subprocess.run(["docker", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} cores ({cpu}), {mem} memory, {platform.system()} {platform.release()}; {docker}"


def ms(criterion, bench, size):
    path = os.path.join(criterion, bench, size, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"] / 1e6


def verdict(ok):
    return "meets the target" if ok else "**misses the target**"


MODEL_TITLE = "## Loader on large and hostile input (in process)"


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except (OSError, IndexError):
        return "unknown"


def model_section(criterion, plan_log):
    """The loader benchmark's section, or None when it has not been run."""
    crit = os.path.join(os.path.dirname(os.path.normpath(criterion)), "model")
    log = os.path.join(os.path.dirname(plan_log), "model.log")
    if not (os.path.isdir(crit) and os.path.exists(log)):
        return None

    def median_ms(*parts):
        with open(os.path.join(crit, *parts, "new", "estimates.json")) as f:
            return json.load(f)["median"]["point_estimate"] / 1e6

    with open(log) as f:
        runs = {m[0]: m for m in re.findall(r"model/(\S+): input ([0-9.]+) KiB; (loaded|rejected)([^\n]*); peak heap ([0-9.]+) MiB", f.read())}
    lines = [MODEL_TITLE, ""]
    w = lines.append
    w("Command: `cargo bench -p swarmkeeper-model --bench load_hostile` (`BENCH_ONLY=model tests/bench/run`).")
    w("The whole loader (YAML, interpolation, compose decoding, validation) on a tree in memory. Peak heap: a")
    w("counting allocator around one load. Times are wall-clock medians: on a shared machine they grow with")
    w(f"its load (load average {loadavg()} on {os.cpu_count()} cores when this section was written).")
    w("")
    w("| input | size | outcome | median time | peak heap |")
    w("|---|---|---|---|---|")
    rows = [
        ("env_keys/25000", ("env_keys", "25000"), "an `environment` mapping of 25,000 keys"),
        ("env_keys/100000", ("env_keys", "100000"), "an `environment` mapping of 100,000 keys"),
        ("alias_bomb", ("alias_bomb",), "billion laughs: 9 levels of 10 aliases (10^9 nodes expanded)"),
        ("large_compose", ("large_compose",), "a valid compose file of 2,000 services"),
    ]
    times = {}
    for key, parts, what in rows:
        run = runs.get(key)
        t = median_ms(*parts)
        times[key] = t
        size = f"{float(run[1]):,.1f} KiB" if run else "?"
        outcome = run[2] + (f" ({run[3].lstrip('; ')})" if run and run[3] else "") if run else "?"
        peak = f"{float(run[4]):.1f} MiB" if run else "?"
        w(f"| {what} | {size} | {outcome} | {t:.1f} ms | {peak} |")
    growth = times["env_keys/100000"] / times["env_keys/25000"]
    w("")
    w(f"- Target: 100,000 keys well under a second: {times['env_keys/100000']:.0f} ms "
      f"({verdict(times['env_keys/100000'] < 500)}, taken as at most half a second).")
    w(f"- Linear: 4× the keys take ×{growth:.1f} the time ({verdict(growth <= 4 * 1.3)}, taken as at most ×5.2).")
    bomb = runs.get("alias_bomb")
    if bomb:
        w(f"- The alias bomb is rejected in {times['alias_bomb']:.0f} ms with a peak heap of {float(bomb[4]):.0f} MiB "
          f"(the node cap bounds both; {verdict(float(bomb[4]) <= 512)}, taken as at most 512 MiB).")
    w("")
    return lines


def scale_section(sc, measured=None):
    """The 1,000-service stack's section (part `scale`)."""
    lines = []
    w = lines.append
    peer = "docker stack deploy --resolve-image never"
    w(f"## A {sc['services']:,}-service stack (lab)")
    w("")
    w(f"Command: `tests/bench/run` (part `scale`). {sc['services']:,} services of `swarmkeeper-lab/web:1` with")
    w("`replicas: 0`, so only the engine's work counts (no task starts); on an empty swarm, the first apply")
    w(f"and then a no-op run, the tools alternating, {sc['rounds']} rounds each, medians of the wall time;")
    w("engine calls counted by a proxy on the socket. `--resolve-image never` keeps docker off the")
    w("registry, as swarmkeeper is for images whose desired value did not change.")
    w("")
    w("| run | swarmkeeper | docker stack deploy --resolve-image never | ratio |")
    w("|---|---|---|---|")
    for phase in ("first apply", "no-op"):
        a_, b_ = sc[f"swarmkeeper {phase}"], sc[f"{peer} {phase}"]
        w(f"| {phase}: wall time | {a_['s']:.2f} s | {b_['s']:.2f} s | ×{sc[f'ratio {phase}']:.2f} |")
        w(f"| {phase}: engine writes | {a_['engine']['writes']} | {b_['engine']['writes']} | |")
        w(f"| {phase}: engine reads | {a_['engine']['reads']} | {b_['engine']['reads']} | |")
    w("")
    w("- A no-op makes no engine write (target 0: "
      f"{verdict(sc['swarmkeeper no-op']['engine']['writes'] == 0)}); `docker stack deploy` sends every service again.")
    w("- swarmkeeper's first apply also looks each new image up (one engine read per distinct image, here")
    w("  one: the name points at Docker Hub, which the lab's engine cannot reach, so the lookup fails at once")
    w("  and the tag is sent).")
    if measured:
        w(f"- Measured {measured}, in a run of this part alone (the other sections are from the date above).")
    w("")
    return lines


def splice_model(criterion, plan_log, out):
    """Rewrite only the loader's section of an existing OUT.md."""
    section = model_section(criterion, plan_log)
    if section is None:
        sys.exit("render.py: the loader benchmark has not been run (cargo bench -p swarmkeeper-model)")
    with open(out) as f:
        text = f.read().split("\n")
    if MODEL_TITLE in text:
        start = text.index(MODEL_TITLE)
        end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
    else:
        start = end = next((i for i, line in enumerate(text) if line.startswith("## API economy")), len(text))
    text[start:end] = section
    with open(out, "w") as f:
        f.write("\n".join(text))


SCALE_PREFIX = "## A "
SCALE_SUFFIX = "-service stack (lab)"


def splice_scale(results_path, out):
    """Rewrite only the scale part's section of an existing OUT.md (when
    only that part was run and the other parts' results are not at hand)."""
    with open(results_path) as f:
        sc = json.load(f).get("scale")
    if not sc:
        sys.exit(f"render.py: {results_path} holds no `scale` results (BENCH_ONLY=scale tests/bench/run)")
    with open(out) as f:
        text = f.read().split("\n")
    found = [i for i, line in enumerate(text) if line.startswith(SCALE_PREFIX) and line.endswith(SCALE_SUFFIX)]
    if found:
        start = found[0]
        end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
    else:
        start = end = next((i for i, line in enumerate(text) if line.startswith("## Change latency")), len(text))
    text[start:end] = scale_section(sc, measured=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    with open(out, "w") as f:
        f.write("\n".join(text))


WEBHOOK_HEADING = "## Change latency: git webhook (lab)"


def webhook_section(wh, measured=None):
    lines = [
        WEBHOOK_HEADING,
        "",
        "Command: `tests/bench/run` (part `webhook`). `swarmkeeper run --git` on a local bare repository with",
        "`--git-interval 1h` (so only the webhook brings a commit in) and `--webhook-secret-file`;",
        f"{wh['pushes']} pushes (the image tag flips), each followed by the GitHub-signed `POST /hooks/git` a",
        "forge sends; from just before `git push` to the service update the proxy sees.",
        "",
        "| p50 | p95 | max |",
        "|---|---|---|",
        f"| {wh['p50_s'] * 1000:.0f} ms | {wh['p95_s'] * 1000:.0f} ms | {wh['max_s'] * 1000:.0f} ms |",
        "",
        f"- Target push → first engine write ≤ 1 s p50 ({verdict(wh['p50_s'] <= 1)}). Without the webhook the",
        "  git source waits for its next fetch: 7.5 s on average at the default 15 s `--git-interval`.",
    ]
    if measured:
        lines.append(f"- Measured {measured}, in a run of this part alone (the other sections are from the date above).")
    lines.append("")
    return lines


def splice_webhook(results_path, out):
    """Rewrite only the webhook part's section of an existing OUT.md."""
    with open(results_path) as f:
        wh = json.load(f).get("webhook")
    if not wh:
        sys.exit(f"render.py: {results_path} holds no `webhook` results (BENCH_ONLY=webhook tests/bench/run)")
    with open(out) as f:
        text = f.read().split("\n")
    found = [i for i, line in enumerate(text) if line == WEBHOOK_HEADING]
    if found:
        start = found[0]
        end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
    else:
        start = end = next((i for i, line in enumerate(text) if line.startswith("## Failure reaction")), len(text))
    text[start:end] = webhook_section(wh, measured=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    with open(out, "w") as f:
        f.write("\n".join(text))


def main():
    if sys.argv[1:3] == ["--section", "webhook"]:
        splice_webhook(*sys.argv[3:5])
        return
    if sys.argv[1:3] == ["--section", "model"]:
        splice_model(*sys.argv[3:6])
        return
    if sys.argv[1:3] == ["--section", "scale"]:
        splice_scale(*sys.argv[3:5])
        return
    results_path, criterion, plan_log, out = sys.argv[1:5]
    with open(results_path) as f:
        r = json.load(f)
    with open(plan_log) as f:
        peaks = dict(re.findall(r"plan/(\S+): .*peak heap of load\+diff\+render ([0-9.]+) MiB", f.read()))
    lines = []
    w = lines.append
    w("# Benchmarks")
    w("")
    w("Produced by `tests/bench/run` (which runs `cargo bench -p swarmkeeper-plan --bench plan_at_scale`,")
    w("then `tests/bench/lab_bench.py` against the lab) and rewritten by it; do not edit by hand.")
    w("")
    w(f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    w(f"- Machine: {machine()}")
    w("- swarmkeeper: the release build (`cargo build --release`), on the lab (tests/lab: one dockerd in swarm")
    w("  mode, moto as AWS). Engine calls are counted by one instrument for both tools: a counting proxy in")
    w("  front of the lab's docker socket (every HTTP request: GET/HEAD a read, anything else a write).")
    w("- The machine is shared and noisy: figures are medians, compared side by side in the same run.")
    w("")

    # 1. Plan at scale
    w("## Plan at scale (in process)")
    w("")
    w("Command: `cargo bench -p swarmkeeper-plan --bench plan_at_scale`. A synthetic desired state (compose")
    w("files on disk, read by the real loader) and an observed snapshot (the state applied to the in-memory")
    w("models, the pools' nodes joined, 1 % of the services changed), at 0.1×, 1× and 10× of 1,000 services")
    w("in 50 stacks, 500 nodes, 200 routes and 100 shared volumes (at 10× the nodes are 1,003: a pool holds at")
    w("most 1,000). `diff` is the whole plan: desired swarm")
    w("and AWS specs, the diff of both and the node lifecycle. Peak heap: a counting allocator around one")
    w("load + diff + render.")
    w("")
    w("| size | services / nodes / routes / volumes | load + validate | diff | render | peak heap |")
    w("|---|---|---|---|---|---|")
    sizes = {"0.1x": "100 / 50 / 20 / 10", "1x": "1,000 / 500 / 200 / 100", "10x": "10,000 / 1,003 / 2,000 / 1,000"}
    figures = {}
    for size, what in sizes.items():
        lv, d, rd = ms(criterion, "load_validate", size), ms(criterion, "diff", size), ms(criterion, "render", size)
        figures[size] = (lv, d, rd)
        w(f"| {size} | {what} | {lv:.1f} ms | {d:.1f} ms | {rd * 1000:.0f} µs | {peaks.get(size, '?')} MiB |")
    lv, d, _ = figures["1x"]
    g_load = figures["10x"][0] / figures["1x"][0]
    g_diff = figures["10x"][1] / figures["1x"][1]
    w("")
    w(f"- Target ≤ 50 ms median at 1×: diff {d:.1f} ms ({verdict(d <= TARGETS['plan_ms'])}); load + validate + diff "
      f"{lv + d:.1f} ms ({verdict(lv + d <= TARGETS['plan_ms'])}).")
    peak = float(peaks.get("1x", "nan"))
    w(f"- Target ≤ 64 MiB peak at 1×: {peak:.1f} MiB ({verdict(peak <= TARGETS['plan_mib'])}).")
    w(f"- Growth 1× → 10×: load ×{g_load:.1f}, diff ×{g_diff:.1f}; n log n would be ×13.3 "
      f"({verdict(max(g_load, g_diff) <= 13.3 * 1.15)}).")
    w("")

    lines.extend(model_section(criterion, plan_log) or [])

    # 2. API economy
    a = r["api_economy"]
    w("## API economy (lab)")
    w("")
    w("Command: `tests/bench/run` (part `api_economy`). The example (`manifests/examples/nextcloud`: AWS")
    w("cluster, EFS, load balancer and routes, one stack) from an empty swarm and an empty moto account;")
    w("then the same compose file through `docker stack deploy` (its variables exported, as docker reads")
    w("them only from the environment).")
    w("")
    w("| run | engine reads | engine writes | AWS reads | AWS writes |")
    w("|---|---|---|---|---|")
    for name, v in a.items():
        aws = v.get("aws")
        aws_r, aws_w = (aws["reads"], aws["writes"]) if aws else ("—", "—")
        w(f"| {name} | {v['engine']['reads']} | {v['engine']['writes']} | {aws_r} | {aws_w} |")
    noop = a["swarmkeeper no-op"]
    zero = noop["engine"]["writes"] == 0 and noop["aws"]["writes"] == 0
    w("")
    w(f"- Target 0 writes on a no-op reconcile, to the engine and to AWS: {verdict(zero)}. `docker stack deploy`")
    w(f"  re-sends every service on a no-op redeploy ({a['docker stack deploy no-op redeploy']['engine']['writes']} writes).")
    w("- Reads grow with the object kinds, not the objects: one list call per kind (services, networks,")
    w("  configs, secrets, nodes, tasks, volumes; security groups, launch templates, groups, instances,")
    w("  parameters, file systems, load balancer parts); the per-object reads are launch template versions,")
    w("  EFS mount targets and listener rules. A first apply reads more because it plans again after each")
    w("  round (the shared volume's file system first, then the services that mount it) and once more to")
    w("  check convergence.")
    w("")

    # 3. Converge time
    c = r["converge"]
    sk, dk = c["swarmkeeper"], c["docker stack deploy"]
    dn = c["docker stack deploy --resolve-image never"]
    w("## Converge time: a 50-service stack (lab)")
    w("")
    w(f"Command: `tests/bench/run` (part `converge`). 50 services of `swarmkeeper-lab/web:1`, one replica")
    w(f"each, on an empty swarm; the tools alternate, {sk['rounds']} rounds each, medians. \"Calls done\" is the")
    w("command's wall time (swarmkeeper's includes planning again to check convergence); \"all running\" is")
    w("when `docker service ls` shows every replica running.")
    w("")
    w("| tool | calls done | all running | engine reads | engine writes |")
    w("|---|---|---|---|---|")
    for name, v in (("swarmkeeper reconcile", sk), ("docker stack deploy", dk),
                    ("docker stack deploy --resolve-image never", dn)):
        w(f"| {name} | {v['calls_done_s']:.2f} s | {v['all_running_s']:.2f} s | {v['engine']['reads']} | {v['engine']['writes']} |")
    w("")
    w(f"- Ratio swarmkeeper / `docker stack deploy`: calls done ×{c['ratio_calls_done']:.2f}, all running "
      f"×{c['ratio_all_running']:.2f}. `docker stack deploy` first asks the registry for each image's digest")
    w("  (`--resolve-image always`, its default); the lab has no registry (its requests fail on a closed")
    w("  local port), so that row includes 50 failed lookups. Against `--resolve-image never` (no registry")
    w(f"  traffic at all, the fairest peer here): calls done ×{c['ratio_calls_done_no_resolve']:.2f} (target ≤ 0.7: "
      f"{verdict(c['ratio_calls_done_no_resolve'] <= TARGETS['converge_ratio'])}), all running "
      f"×{c['ratio_all_running_no_resolve']:.2f}.")
    w("- Both make one create per service plus the stack's network (51 writes); swarmkeeper's reads are one")
    w("  list per object kind for each plan (it plans twice: once to act, once to check convergence).")
    w("- What holds swarmkeeper back against `--resolve-image never`: not the creates (16 at once, as")
    w("  fast as the engine commits them) but its fixed cost around them — version negotiation, the")
    w("  manager check, the join tokens, and observing every kind twice (the second plan is the")
    w("  convergence check `docker stack deploy` does not make). Within a single run of about 0.1 s")
    w("  that is tens of milliseconds; the figure moves by ±0.05 between runs on this shared machine.")
    w("  \"All running\" is the scheduler's and the engine's time, the same for both.")
    w("")

    # 3b. At scale
    if r.get("scale"):
        lines.extend(scale_section(r["scale"]))

    # 4. Change latency
    l = r["latency"]
    w("## Change latency: directory watch (lab)")
    w("")
    w(f"Command: `tests/bench/run` (part `latency`). `swarmkeeper run` on a directory (resync 10 min, so only")
    w(f"the watch triggers); {l['edits']} edits of a compose file (the image tag flips); from just before the")
    w("write to the first write request the proxy sees.")
    w("")
    w(f"| p50 | p95 | max |")
    w("|---|---|---|")
    w(f"| {l['p50_s'] * 1000:.0f} ms | {l['p95_s'] * 1000:.0f} ms | {l['max_s'] * 1000:.0f} ms |")
    w("")
    w(f"- Targets p50 ≤ 1 s ({verdict(l['p50_s'] <= 1)}), p95 ≤ 2 s ({verdict(l['p95_s'] <= 2)}). It includes the")
    w("  150 ms debounce of the watch. For comparison, the documented poll intervals of the peers: SwarmCD")
    w("  120 s, doco-cd 180 s, Portainer GitOps 5 min by default, Flux ≥ 60 s — a change reaches the engine")
    w("  on average half an interval later. (The git source fetches every `--git-interval`, 15 s by default.)")
    w("")
    if r.get("webhook"):
        lines.extend(webhook_section(r["webhook"]))

    # 5. Failure reaction
    fr = r["failure"]
    w("## Failure reaction (multi-node lab)")
    w("")
    w(f"Command: `tests/bench/run` (part `failure`). The node agent's swarm (a seed manager, 1 manager and 2")
    w(f"workers from moto's groups), `swarmkeeper run` with `replace_after: {fr['replace_after_s']}s`; {fr['kills']} times a")
    w("worker's dockerd is SIGKILLed. Swarm detection: kill → the node shows Down (this lab swarm's")
    w(f"dispatcher heartbeat is {fr['heartbeat_s']} s; swarm's default is 5 s, so detection takes longer there). Reaction: Down →")
    w("`DELETE /nodes/{id}` (seen by a counting proxy) and the instance terminated in moto (replacement")
    w("requested), medians.")
    w("")
    w("| swarm detection | Down → node removed | Down → replacement requested | beyond replace_after |")
    w("|---|---|---|---|")
    w(f"| {fr['swarm_detection_p50_s']:.1f} s | {fr['removed_after_down_p50_s']:.1f} s | "
      f"{fr['replacement_requested_after_down_p50_s']:.1f} s | {fr['reaction_beyond_replace_after_p50_s']:.1f} s |")
    w("")
    w(f"- Target ≤ 15 s from Down (plus replace_after) to removed and replacement requested: "
      f"{verdict(fr['reaction_beyond_replace_after_p50_s'] <= TARGETS['failure_s'])}. The controller reacts to the")
    w("  engine's node events and looks again when `replace_after` is due, so it does not wait for a resync.")
    w("")

    # 6. Bootstrap
    if "bootstrap" in r:
        b = r["bootstrap"]
        w("## Bootstrap from an empty account (multi-node lab)")
        w("")
        w("Command: `tests/bench/run` (part `bootstrap`). An empty moto account and no swarm; one `swarmkeeper")
        w("reconcile` (DOCKER_HOST unset) of a cluster of 1 manager and 1 worker with one stack. The lab's node")
        w("agent boots each instance moto launches through its real user data (node.sh: dockerd, the init")
        w("claim, `swarm init` or the join). swarmkeeper's own time is the AWS half plus the swarm half")
        w("(through a manager it finds over ssh); the instances' boot is from the AWS half applied to the swarm")
        w("formed (its id and the manager's address in SSM). Then `destroy --yes`, and the instances' nodes")
        w("stopping once moto terminated them (the agent looks every second).")
        w("")
        w("| reconcile | of which swarmkeeper | of which instances' boot | to the stack running | destroy | to nodes gone |")
        w("|---|---|---|---|---|---|")
        w(f"| {b['reconcile_s']:.1f} s | {b['swarmkeeper_own_s']:.1f} s | {b['instances_boot_s']:.1f} s | "
          f"{b['to_stack_running_s']:.1f} s | {b['destroy_s']:.1f} s | {b['destroy_to_nodes_gone_s']:.1f} s |")
        w("")
        w("- On EC2 the instances' boot is minutes (an AMI boots, cloud-init installs Docker); in the lab it is")
        w("  a namespace and a dockerd, so the figure shows swarmkeeper's share, not AWS's.")
        w("")

    # 7. Footprint
    fp = r["footprint"]
    w("## Footprint")
    w("")
    w(f"Command: `tests/bench/run` (part `footprint`). `swarmkeeper run` on the example (engine and moto),")
    w(f"resync 30 s, idle for {fp['seconds']} s after its first apply; RSS from /proc every 5 s, CPU from its")
    w("utime + stime.")
    w("")
    w("| RSS median | RSS max | CPU (one core) | release binary |")
    w("|---|---|---|---|")
    w(f"| {fp['rss_median_mib']:.1f} MiB | {fp['rss_max_mib']:.1f} MiB | {fp['cpu_percent_of_one_core']:.2f} % | "
      f"{fp['binary_mib']:.1f} MiB |")
    w("")
    w(f"- Targets ≤ 25 MiB RSS ({verdict(fp['rss_max_mib'] <= TARGETS['rss_mib'])}), < 0.5 % of one core "
      f"({verdict(fp['cpu_percent_of_one_core'] < TARGETS['cpu_percent'])}).")
    w("")
    with open(out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
