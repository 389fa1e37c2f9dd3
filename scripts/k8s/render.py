#!/usr/bin/env python3
"""Render the Kubernetes manifests of a sharded perturb run (JSON, which kubectl applies as is).

    scripts/k8s/render.py --name imagenet-pgd --shards 16 --image registry.example/perturb:0.1 \
        --claim perturb-work -- attack --arch resnet18 --weights /work/resnet18.pth \
        --data-dir /work/imagenet/val --labels /work/val.txt --count 50000 --json \
        > run.json
    kubectl apply -f run.json

Objects, in order:
  * a ServiceAccount, Role and RoleBinding that let the merge job watch the shard job;
  * an Indexed Job of N completions: pod I runs `perturb ARGS --shard I/N --out
    RUN_DIR/shard-I.jsonl` (I from the job-completion-index annotation, exposed as SHARD_INDEX);
    a pod that is evicted or fails is retried and resumes from its partial report;
  * a merge Job whose init container waits (kubectl wait) for the shard job to complete, then runs
    `perturb merge` over the N partial reports and writes RUN_DIR/report.

All pods mount one PersistentVolumeClaim (ReadWriteMany) at /work: weights, data and the run
folder live there. Only the standard library is used.
"""

import argparse
import json
import sys

MOUNT = "/work"


def render(a, command):
    name = a.name
    shards_job = f"perturb-{name}-shards"
    merge_job = f"perturb-{name}-merge"
    account = f"perturb-{name}-merge"
    run_dir = a.run_dir or f"{MOUNT}/runs/{name}"
    labels = {"app.kubernetes.io/name": "perturb", "perturb/run": name}
    volume = {"name": "work", "persistentVolumeClaim": {"claimName": a.claim}}
    mount = {"name": "work", "mountPath": MOUNT}
    resources = {"requests": {"cpu": str(a.cpus), "memory": a.memory},
                 "limits": {"memory": a.memory}}
    if a.gpus:
        resources["limits"]["nvidia.com/gpu"] = str(a.gpus)
    device = ["--device", "wgpu"] if a.gpus else []
    shard_args = list(command) + device + [
        "--shard", f"$(SHARD_INDEX)/{a.shards}",
        "--out", f"{run_dir}/shard-$(SHARD_INDEX).jsonl",
    ]
    parts = " ".join(f"{run_dir}/shard-{i}.jsonl" for i in range(a.shards))
    merge_flags = " ".join(a.merge_flag)
    merge_script = (
        f"set -e; perturb merge {parts} {merge_flags} > {run_dir}/report.tmp; "
        f"mv {run_dir}/report.tmp {run_dir}/report; echo merged {a.shards} shards into {run_dir}/report"
    ).replace("  ", " ")
    return {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": account, "labels": labels}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": account, "labels": labels},
             "rules": [{"apiGroups": ["batch"], "resources": ["jobs"],
                        "verbs": ["get", "list", "watch"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": account, "labels": labels},
             "subjects": [{"kind": "ServiceAccount", "name": account}],
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account}},
            {"apiVersion": "batch/v1", "kind": "Job",
             "metadata": {"name": shards_job, "labels": labels},
             "spec": {
                 "completionMode": "Indexed",
                 "completions": a.shards,
                 "parallelism": min(a.parallelism or a.shards, a.shards),
                 # Retries per shard: a retried pod resumes from its partial report.
                 "backoffLimit": 3 * a.shards,
                 "template": {
                     "metadata": {"labels": labels},
                     "spec": {
                         "restartPolicy": "OnFailure",
                         "volumes": [volume],
                         "containers": [{
                             "name": "shard",
                             "image": a.image,
                             "command": ["perturb"],
                             "args": shard_args,
                             "env": [
                                 {"name": "SHARD_INDEX", "valueFrom": {"fieldRef": {
                                     "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
                                 {"name": "RAYON_NUM_THREADS", "value": str(a.cpus)},
                             ],
                             "volumeMounts": [mount],
                             "resources": resources,
                         }],
                     },
                 },
             }},
            {"apiVersion": "batch/v1", "kind": "Job",
             "metadata": {"name": merge_job, "labels": labels},
             "spec": {
                 "backoffLimit": 2,
                 "template": {
                     "metadata": {"labels": labels},
                     "spec": {
                         "serviceAccountName": account,
                         "restartPolicy": "Never",
                         "volumes": [volume],
                         "initContainers": [{
                             "name": "wait-for-shards",
                             "image": a.kubectl_image,
                             "command": ["kubectl", "wait", "--for=condition=complete",
                                         f"job/{shards_job}", f"--timeout={a.wait}"],
                         }],
                         "containers": [{
                             "name": "merge",
                             "image": a.image,
                             "command": ["sh", "-c", merge_script],
                             "volumeMounts": [mount],
                         }],
                     },
                 },
             }},
        ],
    }


def main(argv):
    if "--" not in argv:
        sys.exit("render.py: put -- before the perturb command (e.g. -- attack --count 50000 --json)")
    cut = argv.index("--")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--name", required=True, help="run name (lowercase, digits, -)")
    p.add_argument("--shards", type=int, required=True, help="N, the number of shards")
    p.add_argument("--parallelism", type=int, help="pods at once (default N)")
    p.add_argument("--image", required=True, help="the perturb image (see Dockerfile)")
    p.add_argument("--claim", required=True, help="PersistentVolumeClaim mounted at /work")
    p.add_argument("--run-dir", help="folder of the partial reports (default /work/runs/NAME)")
    p.add_argument("--cpus", type=int, default=2, help="CPUs per shard pod")
    p.add_argument("--memory", default="8Gi", help="memory per shard pod")
    p.add_argument("--gpus", type=int, default=0, help="NVIDIA GPUs per shard pod (runs --device wgpu)")
    p.add_argument("--kubectl-image", default="bitnami/kubectl:1.31", help="image of the wait step")
    p.add_argument("--wait", default="168h", help="how long the merge job waits for the shards")
    p.add_argument("--merge-flag", action="append", default=[], help="a flag for perturb merge, as --merge-flag=--json")
    a = p.parse_args(argv[:cut])
    command = argv[cut + 1:]
    if a.shards < 1:
        p.error("--shards must be at least 1")
    if not command:
        p.error("no perturb command after --")
    if any(c.startswith("--shard") or c == "--out" for c in command):
        p.error("the manifest sets --shard and --out itself")
    ok = all(c.isalnum() and c.islower() or c.isdigit() or c == "-" for c in a.name)
    if not a.name or not ok or len(a.name) > 40:
        p.error("--name: lowercase letters, digits and '-', at most 40")
    json.dump(render(a, command), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
