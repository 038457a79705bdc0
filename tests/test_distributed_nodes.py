"""Two "nodes" on this machine: two torchrun agents meet at one rendezvous endpoint, as on two machines."""

import json
import socket
import subprocess
import sys

from helpers import ROOT, SAMPLE
from test_distributed import LONG, torchrun_env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_nodes_meet_at_a_rendezvous_endpoint_and_train_one_run(tmp_path):
    endpoint = f"127.0.0.1:{free_port()}"
    env = torchrun_env(LRSCOPE_CACHE_DIR=str(tmp_path / "cache"), LRSCOPE_RUNS_DIR=str(tmp_path / "runs"))
    nodes = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=1",
                               "--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}", "--rdzv-id=lrscope-test", "-m", "lrscope",
                               "train", "--data", str(SAMPLE), "--image-size", "16", "--batch-size", "32", "--epochs", "1", "--json"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [node.communicate(timeout=LONG) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], [err[-2000:] for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs if out.strip()]
    assert len(reports) == 1, "rank 0 alone reports the run"
    report = reports[0]
    assert (report["state"], report["processes"], report["global_batch"]) == ("finished", 2, 64)
    assert len(list((tmp_path / "runs").iterdir())) == 1, "rank 0 alone stores the run"
