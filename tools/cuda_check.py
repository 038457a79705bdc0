"""Check lrscope's CUDA path through its real command line, on a machine with an NVIDIA GPU.

    python tools/cuda_check.py OUT_DIR

Each check runs one `lrscope` command as a user would type it and reads its --json answer or its
message. The test suite cannot do this: CI has no GPU. The checks: training in float32 and with
mixed precision, streaming from disk with pinned memory, a range test, a λmax measurement, a
budgeted tune, a stop and a resume (the GPU's random state in the checkpoint), fine-tuning from
pretrained weights, DDP on NCCL, a second process that has no GPU of its own, and running out of
GPU memory. Results go to OUT_DIR/cuda-check.json and each command's output to OUT_DIR/cuda-check.log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lrscope.samples import sample

DIGITS = str(sample("digits"))
LIMIT = 300  # seconds for one command: a hang is a failure, not a stuck check


class Checks:
    """Runs commands, keeps their output in a log and each check's verdict."""

    def __init__(self, out: Path, home: Path):
        self.out, self.home = out, home
        self.log = (out / "cuda-check.log").open("w")
        self.results: list[dict] = []
        self.env = os.environ | {"LRSCOPE_RUNS_DIR": str(home / "runs"), "LRSCOPE_LIBRARY_DIR": str(home / "library"),
                                 "LRSCOPE_CACHE_DIR": str(home / "cache"), "PYTHONUNBUFFERED": "1",
                                 "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "engine.cli", *args]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """One lrscope command, to its end; its output is logged."""
        started = time.perf_counter()
        done = subprocess.run(self.command(*args), capture_output=True, text=True, env=self.env, timeout=LIMIT, cwd=ROOT)
        self._log(args, done.returncode, done.stdout, done.stderr, time.perf_counter() - started)
        return done

    def _log(self, args, status: int, stdout: str, stderr: str, seconds: float) -> None:
        self.log.write(f"\n$ lrscope {' '.join(args)}\n[exit {status}, {seconds:.1f} s]\n--- stdout\n{stdout[-4000:]}\n--- stderr\n{stderr[-4000:]}\n")
        self.log.flush()

    def check(self, name: str, body: Callable[[], str]) -> None:
        """Run one check; its body returns what it measured, or raises AssertionError."""
        started = time.perf_counter()
        try:
            detail, ok = body(), True
        except Exception as error:  # noqa: BLE001 - a check's own failure is its verdict, and the others still run
            detail, ok = f"{type(error).__name__}: {error}", False
        seconds = time.perf_counter() - started
        self.results.append({"check": name, "ok": ok, "detail": detail, "seconds": round(seconds, 1)})
        print(f"{'PASS' if ok else 'FAIL'} {name} ({seconds:.0f} s): {detail}", flush=True)

    def json_of(self, done: subprocess.CompletedProcess) -> dict:
        assert done.returncode == 0, f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:] if done.stderr.strip() else ''}"
        return json.loads(done.stdout)


def first_line(stderr: str) -> str:
    """The run's "training on DEVICE: …" line."""
    return next((line for line in stderr.splitlines() if line.startswith("training on")), "(no 'training on' line)")


def train_checks(c: Checks) -> None:
    """Training in float32, mixed precision and streaming; the device named in the run's first line."""

    def float32() -> str:
        done = c.run("train", "--data", DIGITS, "--device", "cuda", "--epochs", "3", "--json")
        result = c.json_of(done)
        assert "training on NVIDIA" in done.stderr and "mixed precision" not in done.stderr, done.stderr.splitlines()[:1]
        assert result["state"] == "finished" and result["val_accuracy"] > 0.5, result["val_accuracy"]
        return f"{100 * result['val_accuracy']:.1f}% in {result['seconds']:.1f} s; {first_line(done.stderr)}"

    def mixed() -> str:
        done = c.run("train", "--data", DIGITS, "--device", "cuda", "--amp", "--epochs", "3", "--json")
        result = c.json_of(done)
        assert "mixed precision (bfloat16)" in done.stderr, done.stderr.splitlines()[:1]
        assert result["state"] == "finished" and result["val_accuracy"] > 0.5, result["val_accuracy"]
        return f"{100 * result['val_accuracy']:.1f}% in {result['seconds']:.1f} s; {first_line(done.stderr)}"

    def streaming() -> str:
        result = c.json_of(c.run("train", "--data", DIGITS, "--device", "cuda", "--memory-budget-mb", "0", "--epochs", "2", "--json"))
        assert result["state"] == "finished" and result["val_accuracy"] > 0.3, result["val_accuracy"]
        return f"from disk through 2 loader processes, pinned memory: {100 * result['val_accuracy']:.1f}% in {result['seconds']:.1f} s"

    c.check("train, float32", float32)
    c.check("train, mixed precision", mixed)
    c.check("train, streaming from disk", streaming)


def analysis_checks(c: Checks) -> None:
    """Range test (sweep, probe), λmax, tune."""

    def sweep() -> str:
        result = c.json_of(c.run("range-test", "--data", DIGITS, "--device", "cuda", "--amp", "--repeats", "3", "--json"))
        return f"state {result.get('state')}; {json.dumps(result.get('suggestions', result.get('recommendation')))[:200]}"

    def probe() -> str:
        result = c.json_of(c.run("range-test", "--data", DIGITS, "--device", "cuda", "--probe", "--json"))
        return f"state {result.get('state')}; {json.dumps(result.get('suggestions', result.get('recommendation')))[:200]}"

    def curvature() -> str:
        result = c.json_of(c.run("curvature", "--data", DIGITS, "--device", "cuda", "--json"))
        return json.dumps(result)[:300]

    def tune() -> str:
        result = c.json_of(c.run("tune", "--data", DIGITS, "--device", "cuda", "--budget", "3", "--epochs", "3", "--json"))
        return json.dumps({k: result[k] for k in list(result)[:6]})[:300]

    c.check("range test, 3 sweeps, mixed precision", sweep)
    c.check("range test, probe", probe)
    c.check("curvature (λmax)", curvature)
    c.check("tune, budget 3 runs", tune)


def resume_check(c: Checks) -> None:
    """Ctrl-C after the first checkpoint, then resume: the checkpoint holds the GPU's random state."""

    def body() -> str:
        runs = c.home / "resumed-runs"  # its own folder: the other checks' runs hold checkpoints already
        args = ("train", "--data", DIGITS, "--device", "cuda", "--epochs", "40", "--checkpoint-every", "30", "--runs-dir", str(runs), "--json")
        process = subprocess.Popen(c.command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=c.env, cwd=ROOT)
        deadline = time.monotonic() + LIMIT
        while not any(int(path.stem[5:]) >= 30 for path in runs.glob("*/checkpoints/step-*.pt")) and time.monotonic() < deadline \
                and process.poll() is None:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        c._log(args, process.returncode, stdout, stderr, 0)
        stopped = json.loads(stdout)
        assert stopped["state"] in ("stopped", "paused"), stopped["state"]
        result = c.json_of(c.run("resume", stopped["run_dir"], "--runs-dir", str(runs), "--json"))
        assert result["state"] == "finished" and result["start_step"] > 0, (result["state"], result["start_step"])
        return f"stopped at step {stopped['steps']}, resumed at {result['start_step']}, finished {result['steps']} steps at {100 * result['val_accuracy']:.1f}%"

    c.check("stop and resume", body)


def fine_tuning_check(c: Checks) -> None:
    """MobileNetV2 from its ImageNet weights, mixed precision: the GPU's usual fine-tuning run."""

    def body() -> str:
        sys.path.insert(0, str(ROOT))
        from bench.hub_weights import install_mobilenet_v2_weights

        c.env["TORCH_HOME"] = str(c.home / "torch")
        os.environ["TORCH_HOME"] = c.env["TORCH_HOME"]
        install_mobilenet_v2_weights()
        result = c.json_of(c.run("train", "--data", DIGITS, "--device", "cuda", "--amp", "--model", "mobilenet_v2", "--pretrained",
                                 "--freeze-epochs", "1", "--epochs", "3", "--image-size", "64", "--json"))
        assert result["state"] == "finished" and result["val_accuracy"] > 0.5, result["val_accuracy"]
        return f"{100 * result['val_accuracy']:.1f}% in {result['seconds']:.1f} s from {result['weights']}"

    c.check("fine-tuning from pretrained weights", body)


def distributed_checks(c: Checks) -> None:
    """One process on NCCL; two processes on one GPU (a clear refusal, no traceback)."""

    def nccl() -> str:
        result = c.json_of(c.run("train", "--data", DIGITS, "--device", "cuda", "--nproc", "1", "--epochs", "2", "--json"))
        assert result["state"] == "finished" and result["processes"] == 1, result
        return f"torchrun, NCCL: {100 * result['val_accuracy']:.1f}% in {result['seconds']:.1f} s"

    def two_on_one() -> str:
        done = c.run("train", "--data", DIGITS, "--device", "cuda", "--nproc", "2", "--epochs", "1")
        assert done.returncode != 0 and "Traceback" not in done.stderr, f"exit {done.returncode}, traceback: {'Traceback' in done.stderr}"
        return f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1]}"

    c.check("DDP, 1 process on NCCL", nccl)
    c.check("DDP, 2 processes on 1 GPU", two_on_one)


def out_of_memory_check(c: Checks) -> None:
    """A batch far beyond the GPU's memory stops the run with advice, keeps the app's promises, no traceback."""

    def body() -> str:
        done = c.run("train", "--data", DIGITS, "--device", "cuda", "--model", "resnet50", "--image-size", "512", "--batch-size", "1024",
                     "--epochs", "1", "--json")
        assert "Traceback" not in done.stderr, done.stderr[-400:]
        assert "out of memory" in done.stderr + done.stdout, done.stderr[-400:]
        return f"exit {done.returncode}: {[line for line in done.stderr.splitlines() if 'memory' in line][:2]}"

    c.check("out of GPU memory", body)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        c = Checks(out, Path(home))
        for group in (train_checks, analysis_checks, resume_check, fine_tuning_check, distributed_checks, out_of_memory_check):
            group(c)
        (out / "cuda-check.json").write_text(json.dumps(c.results, indent=1))
    failed = [r["check"] for r in c.results if not r["ok"]]
    print(f"{len(c.results) - len(failed)} of {len(c.results)} checks passed" + (f"; failed: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
