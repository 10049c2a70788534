"""Benchmark installs: skillinstall against uv and pip by hand.

Side by side in one run, on the same requirement set and the same local
find-links directory of wheels made here:
Two requirement sets: "synthetic", 30 small wheels made here (fixed costs
dominate), and "real", ten popular packages and their dependencies (28
wheels, 35 MB) downloaded once with pip into var/bench-wheels (installing
them dominates).
  cold    a new environment with empty tool caches: skillinstall (request to
          succeeded, resolution included) vs `uv venv` + `uv pip install` vs
          `python -m venv` + `pip install`
  warm    the same with the tools' caches filled (a new environment still)
  hit     a repeat request for an unchanged skill (cache hit)
  storm   50 concurrent requests for 10 skills with 3 distinct locks, worked
          by a real django-q2 cluster with two workers
Run: .venv/bin/python bench/install.py [--trials N] [--json]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.mkdtemp(prefix="skillinstall-bench-"))
os.environ["SKILLINSTALL_VAR_DIR"] = str(WORK / "var")
os.environ["DATABASE_URL"] = f"sqlite:///{WORK / 'var' / 'bench.sqlite3'}"
os.environ["SKILLINSTALL_LOG_LEVEL"] = "WARNING"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillinstall_project.settings")
sys.path.insert(0, str(BASE))

import django

django.setup()

from django.conf import settings
from django.core.management import call_command

from installs import services
from installs.backends.venv import top_level_modules
from installs.models import Artifact, InstallRun, Skill
from installs.resolver import uv_binary
from tests.support.python import build_wheel

WHEELS = WORK / "wheels"
PYTHON = sys.executable
FILES_PER_PACKAGE = 40


def make_index():
    """Write a tree of 30 wheels: 6 apps, each pulling in 4 libraries."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    body = "VALUE = {}\n" + "def f(x):\n    return x * 2\n" * 20
    for lib in range(24):
        modules = {f"lib{lib}/__init__.py": "from . import m0\n"}
        modules.update(
            {f"lib{lib}/m{n}.py": body.format(n) for n in range(FILES_PER_PACKAGE)}
        )
        build_wheel(WHEELS, f"lib{lib}", "1.0", modules=modules)
        build_wheel(WHEELS, f"lib{lib}", "1.1", modules=modules)
    for app in range(6):
        requires = [f"lib{app * 4 + n}>=1.0" for n in range(4)]
        build_wheel(WHEELS, f"app{app}", "2.0", requires=requires)
    return [f"app{app}" for app in range(6)]


def tool_env(cache):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env["UV_CACHE_DIR"] = str(cache / "uv")
    env["PIP_CACHE_DIR"] = str(cache / "pip")
    env["PIP_CONFIG_FILE"] = os.devnull  # the machine's pip.conf adds indexes
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def timed(command, env):
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


REAL_REQUIREMENTS = [
    "requests", "beautifulsoup4", "PyYAML", "jinja2", "click",
    "rich", "httpx", "pydantic", "numpy", "pandas",
]  # fmt: skip


def download_real(directory):
    """Fetch wheels of REAL_REQUIREMENTS once, with the machine's pip settings."""
    marker = directory / ".complete"
    if not marker.exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [PYTHON, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
             "--dest", str(directory), *REAL_REQUIREMENTS],
            check=True,
        )  # fmt: skip
        marker.touch()
    return directory


def raw_uv(requirements, target, env):
    uv = uv_binary()
    reqs = target.with_suffix(".txt")
    reqs.write_text("\n".join(requirements) + "\n")
    return timed([uv, "venv", "--quiet", "--python", PYTHON, str(target)], env) + timed(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(target / "bin" / "python"),
            "--no-index",
            "--find-links",
            str(settings.SKILLINSTALL_FIND_LINKS[0]),
            "-r",
            str(reqs),
        ],
        env,
    )


def raw_pip(requirements, target, env):
    reqs = target.with_suffix(".txt")
    reqs.write_text("\n".join(requirements) + "\n")
    return timed([PYTHON, "-m", "venv", str(target)], env) + timed(
        [
            str(target / "bin" / "pip"),
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(settings.SKILLINSTALL_FIND_LINKS[0]),
            "-r",
            str(reqs),
        ],
        env,
    )


def skillinstall(requirements, skill_id):
    Skill.objects.update_or_create(
        id=skill_id, defaults={"python_requirements": requirements}
    )
    started = time.perf_counter()
    run = services.request_install(skill_id=skill_id, trigger="cli", enqueue=False)
    run = services.execute_run(run.pk)
    elapsed = time.perf_counter() - started
    assert run.status == "succeeded", run.log
    return elapsed


def forget_environments():
    """Drop every run and environment so the next install builds anew."""
    InstallRun.objects.all().delete()
    Skill.objects.update(active_artifact=None)
    Artifact.objects.all().delete()
    shutil.rmtree(settings.SKILLINSTALL_ARTIFACT_ROOT, ignore_errors=True)
    settings.SKILLINSTALL_ARTIFACT_ROOT.mkdir(parents=True)


def compare(requirements, trials, *, warm, label):
    """Time the three ways; return the medians in seconds."""
    times = {"skillinstall": [], "uv": [], "pip": []}
    caches = WORK / ("cache-warm" if warm else "cache")
    for trial in range(trials + (1 if warm else 0)):
        if not warm:
            shutil.rmtree(caches, ignore_errors=True)
        env = tool_env(caches)
        os.environ["UV_CACHE_DIR"] = env["UV_CACHE_DIR"]
        forget_environments()
        uv_target = WORK / f"uv-{label}-{warm}-{trial}"
        pip_target = WORK / f"pip-{label}-{warm}-{trial}"
        sample = {
            "skillinstall": skillinstall(requirements, "bench/cold"),
            "uv": raw_uv(requirements, uv_target, env),
            "pip": raw_pip(requirements, pip_target, env),
        }
        # Ready to use: the install plus the first import of every top-level
        # module, which skillinstall's soundness check has already paid for.
        artifact = Path(Skill.objects.get(pk="bench/cold").active_artifact.reference)
        modules = sorted(top_level_modules(artifact))
        sample["skillinstall+import"] = sample["skillinstall"] + first_import(
            artifact, modules, env
        )
        sample["uv+import"] = sample["uv"] + first_import(uv_target, modules, env)
        sample["pip+import"] = sample["pip"] + first_import(pip_target, modules, env)
        if warm and trial == 0:
            continue  # the first pass only fills the caches
        for key, value in sample.items():
            times.setdefault(key, []).append(value)
    return {key: statistics.median(values) for key, values in times.items()}


def first_import(venv, modules, env):
    """Time one import of ``modules`` (the requirement set's own) in ``venv``."""
    script = f"import {', '.join(modules)}"
    return timed([str(venv / "bin" / "python"), "-I", "-c", script], env)


def cache_hits(requirements, count=50):
    skillinstall(requirements, "bench/hit")
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        run = services.request_install(
            skill_id="bench/hit", trigger="api", enqueue=False
        )
        samples.append(time.perf_counter() - started)
        assert run.status == "succeeded" and run.cache_hit
    return statistics.median(samples), max(samples)


def storm(apps):
    """50 requests for 10 skills with 3 distinct locks, worked by qcluster."""
    forget_environments()
    groups = [apps[0:2], apps[2:4], apps[4:6]]
    skill_ids = []
    for n in range(10):
        requirements = groups[n % 3]
        Skill.objects.update_or_create(
            id=f"storm/s{n}", defaults={"python_requirements": requirements}
        )
        skill_ids.append(f"storm/s{n}")

    env = dict(os.environ, SKILLINSTALL_WORKERS="2")
    env.update(
        SKILLINSTALL_ARTIFACT_ROOT=str(settings.SKILLINSTALL_ARTIFACT_ROOT),
        SKILLINSTALL_WORK_ROOT=str(settings.SKILLINSTALL_WORK_ROOT),
        SKILLINSTALL_FIND_LINKS=str(WHEELS),
        SKILLINSTALL_NO_INDEX="1",
    )
    cluster = subprocess.Popen(
        [PYTHON, str(BASE / "manage.py"), "qcluster"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(3)  # let the cluster's workers start before the clock does
    started = time.perf_counter()
    threads = [
        threading.Thread(
            target=services.request_install,
            kwargs={"skill_id": skill_ids[n % 10], "trigger": "api"},
        )
        for n in range(50)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while InstallRun.objects.filter(status__in=InstallRun.IN_FLIGHT).exists():
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    cluster.terminate()
    cluster.wait(timeout=30)

    builds = InstallRun.objects.filter(status="succeeded", cache_hit=False).count()
    failed = InstallRun.objects.exclude(status="succeeded").count()
    return {
        "seconds": elapsed,
        "requests": 50,
        "runs": InstallRun.objects.count(),
        "builds": builds,
        "artifacts": Artifact.objects.filter(status="ready").count(),
        "not_succeeded": failed,
    }


def one_build(requirements):
    forget_environments()
    return skillinstall(requirements, "bench/single")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    call_command("migrate", verbosity=0)
    settings.SKILLINSTALL_NO_INDEX = True
    settings.SKILLINSTALL_FIND_LINKS = [str(WHEELS)]
    apps = make_index()
    # A worker is a long-running process: it has asked uv and npm for their
    # versions and the machine's npm registry once, before any timed install.
    skillinstall(["lib0"], "bench/warm-up")

    cold = compare(apps, args.trials, warm=False, label="synthetic")
    warm = compare(apps, args.trials, warm=True, label="synthetic")
    hit_median, hit_max = cache_hits(apps)

    settings.SKILLINSTALL_FIND_LINKS = [
        str(download_real(BASE / "var" / "bench-wheels"))
    ]
    real_cold = compare(REAL_REQUIREMENTS, args.trials, warm=False, label="real")
    real_warm = compare(REAL_REQUIREMENTS, args.trials, warm=True, label="real")
    settings.SKILLINSTALL_FIND_LINKS = [str(WHEELS)]
    single = statistics.median(one_build(apps[0:2]) for _ in range(2))
    storm_result = storm(apps)

    result = {
        "synthetic_packages": 30,
        "cold": {k: round(v, 3) for k, v in cold.items()},
        "cold_ratio_vs_uv": round(cold["skillinstall"] / cold["uv"], 2),
        "cold_ready_ratio_vs_uv": round(
            cold["skillinstall+import"] / cold["uv+import"], 2
        ),
        "cold_pip_over_skillinstall": round(cold["pip"] / cold["skillinstall"], 2),
        "warm": {k: round(v, 3) for k, v in warm.items()},
        "warm_ratio_vs_uv": round(warm["skillinstall"] / warm["uv"], 2),
        "warm_ready_ratio_vs_uv": round(
            warm["skillinstall+import"] / warm["uv+import"], 2
        ),
        "warm_pip_over_skillinstall": round(warm["pip"] / warm["skillinstall"], 2),
        "real_cold": {k: round(v, 3) for k, v in real_cold.items()},
        "real_cold_ratio_vs_uv": round(real_cold["skillinstall"] / real_cold["uv"], 2),
        "real_cold_ready_ratio_vs_uv": round(
            real_cold["skillinstall+import"] / real_cold["uv+import"], 2
        ),
        "real_cold_pip_over_skillinstall": round(
            real_cold["pip"] / real_cold["skillinstall"], 2
        ),
        "real_warm": {k: round(v, 3) for k, v in real_warm.items()},
        "real_warm_ratio_vs_uv": round(real_warm["skillinstall"] / real_warm["uv"], 2),
        "real_warm_ready_ratio_vs_uv": round(
            real_warm["skillinstall+import"] / real_warm["uv+import"], 2
        ),
        "real_warm_pip_over_skillinstall": round(
            real_warm["pip"] / real_warm["skillinstall"], 2
        ),
        "cache_hit_ms_median": round(hit_median * 1000, 1),
        "cache_hit_ms_max": round(hit_max * 1000, 1),
        "single_build_seconds": round(single, 3),
        "storm": {
            k: round(v, 3) if isinstance(v, float) else v
            for k, v in storm_result.items()
        },
        "storm_over_three_builds": round(storm_result["seconds"] / (3 * single), 2),
    }
    print(json.dumps(result, indent=2))
    shutil.rmtree(WORK, ignore_errors=True)
    return result


if __name__ == "__main__":
    main()
