#!/usr/bin/env python3
"""Checks scripts/k8s/render.py (no cluster here): the manifest's structure, and that the commands
it puts in the pods run: every shard pod's command, with $(SHARD_INDEX) replaced as Kubernetes does
and /work mapped to a temporary folder, then the merge pod's, give the unsharded run's report.

    PERTURB_BIN=target/release/perturb python3 scripts/k8s/test_render.py
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RENDER = os.path.join(ROOT, "scripts", "k8s", "render.py")
PERTURB = os.environ.get("PERTURB_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "perturb")
COMMAND = ["attack", "--models-dir", "/work/models", "--count", "40", "--batch-size", "10",
           "--steps", "5", "--json"]


def render(*args, command=COMMAND):
    out = subprocess.run([sys.executable, RENDER, *args, "--", *command],
                         capture_output=True, text=True)
    return out


class Manifest(unittest.TestCase):
    def setUp(self):
        out = render("--name", "mnist-pgd", "--shards", "4", "--image", "perturb:test",
                     "--claim", "perturb-work", "--merge-flag=--json")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.doc = json.loads(out.stdout)
        self.kinds = {item["kind"] + "/" + item["metadata"]["name"]: item
                      for item in self.doc["items"]}

    def test_objects(self):
        self.assertEqual(self.doc["kind"], "List")
        self.assertEqual(sorted(self.kinds), sorted([
            "ServiceAccount/perturb-mnist-pgd-merge", "Role/perturb-mnist-pgd-merge",
            "RoleBinding/perturb-mnist-pgd-merge", "Job/perturb-mnist-pgd-shards",
            "Job/perturb-mnist-pgd-merge"]))
        role = self.kinds["Role/perturb-mnist-pgd-merge"]
        self.assertIn("watch", role["rules"][0]["verbs"])
        binding = self.kinds["RoleBinding/perturb-mnist-pgd-merge"]
        self.assertEqual(binding["subjects"][0]["name"], "perturb-mnist-pgd-merge")
        self.assertEqual(binding["roleRef"]["name"], "perturb-mnist-pgd-merge")

    def test_indexed_shard_job(self):
        job = self.kinds["Job/perturb-mnist-pgd-shards"]
        spec = job["spec"]
        self.assertEqual(job["apiVersion"], "batch/v1")
        self.assertEqual(spec["completionMode"], "Indexed")
        self.assertEqual(spec["completions"], 4)
        self.assertLessEqual(spec["parallelism"], 4)
        pod = spec["template"]["spec"]
        self.assertIn(pod["restartPolicy"], ("OnFailure", "Never"))
        (container,) = pod["containers"]
        self.assertEqual(container["image"], "perturb:test")
        env = {e["name"]: e for e in container["env"]}
        self.assertEqual(env["SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"],
                         "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        args = container["args"]
        self.assertEqual(args[:len(COMMAND)], COMMAND)
        self.assertEqual(args[args.index("--shard") + 1], "$(SHARD_INDEX)/4")
        self.assertEqual(args[args.index("--out") + 1],
                         "/work/runs/mnist-pgd/shard-$(SHARD_INDEX).jsonl")
        self.assertEqual(container["volumeMounts"], [{"name": "work", "mountPath": "/work"}])
        self.assertEqual(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "perturb-work")

    def test_merge_waits_for_the_shards(self):
        pod = self.kinds["Job/perturb-mnist-pgd-merge"]["spec"]["template"]["spec"]
        self.assertEqual(pod["serviceAccountName"], "perturb-mnist-pgd-merge")
        (wait,) = pod["initContainers"]
        self.assertEqual(wait["command"][:3], ["kubectl", "wait", "--for=condition=complete"])
        self.assertIn("job/perturb-mnist-pgd-shards", wait["command"])
        script = pod["containers"][0]["command"][2]
        for i in range(4):
            self.assertIn(f"/work/runs/mnist-pgd/shard-{i}.jsonl", script)
        self.assertIn("--json", script)

    def test_gpus(self):
        out = render("--name", "g", "--shards", "2", "--image", "i", "--claim", "c",
                     "--gpus", "1")
        doc = json.loads(out.stdout)
        container = doc["items"][3]["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["resources"]["limits"]["nvidia.com/gpu"], "1")
        self.assertIn("wgpu", container["args"])

    def test_bad_settings_are_refused(self):
        for args, command in [
            (["--name", "x", "--shards", "0", "--image", "i", "--claim", "c"], COMMAND),
            (["--name", "Bad_Name", "--shards", "2", "--image", "i", "--claim", "c"], COMMAND),
            (["--name", "x", "--shards", "2", "--image", "i", "--claim", "c"],
             COMMAND + ["--shard", "0/2"]),
            (["--name", "x", "--shards", "2", "--image", "i", "--claim", "c"], []),
        ]:
            out = render(*args, command=command)
            self.assertNotEqual(out.returncode, 0, (args, command))
            self.assertTrue(out.stderr.strip(), (args, command))

    def test_pod_commands_run_and_merge_to_the_unsharded_report(self):
        self.assertTrue(os.access(PERTURB, os.X_OK), f"no perturb binary at {PERTURB}")
        work = tempfile.mkdtemp(prefix="perturb-k8s-")
        try:
            os.symlink(os.path.join(ROOT, "models"), os.path.join(work, "models"))
            os.makedirs(os.path.join(work, "runs", "mnist-pgd"))
            bin_dir = os.path.join(work, "bin")
            os.makedirs(bin_dir)
            os.symlink(PERTURB, os.path.join(bin_dir, "perturb"))
            env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"])
            here = lambda s: s.replace("/work", work)
            job = self.kinds["Job/perturb-mnist-pgd-shards"]
            container = job["spec"]["template"]["spec"]["containers"][0]
            for index in range(job["spec"]["completions"]):
                args = [here(a.replace("$(SHARD_INDEX)", str(index))) for a in container["args"]]
                run = subprocess.run(container["command"] + args, env=env, cwd=ROOT,
                                     capture_output=True, text=True)
                self.assertEqual(run.returncode, 0, run.stderr)
            merge = self.kinds["Job/perturb-mnist-pgd-merge"]["spec"]["template"]["spec"]
            command = [here(c) for c in merge["containers"][0]["command"]]
            run = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            whole = subprocess.run([PERTURB] + [here(c) for c in COMMAND], cwd=ROOT,
                                   capture_output=True, text=True)
            self.assertEqual(whole.returncode, 0, whole.stderr)
            with open(os.path.join(work, "runs", "mnist-pgd", "report")) as f:
                self.assertEqual(f.read(), whole.stdout)
        finally:
            shutil.rmtree(work)


if __name__ == "__main__":
    unittest.main(verbosity=2)
