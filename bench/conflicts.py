"""Benchmark direct conflict detection on a marketplace-sized catalogue.

1,000 skills with 20 requirements each (15 Python, 5 npm), checked one by one
against a 200-line constraints file, and all together as one shared batch.
Run: .venv/bin/python bench/conflicts.py [--skills N] [--json]
"""

import argparse
import json
import os
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillinstall_project.settings")

import django

django.setup()

from installs import conflicts
from installs.manifests import parse_manifest
from installs.requirements import npm, python

PYTHON_PACKAGES = [f"pkg-{n}" for n in range(400)]
NPM_PACKAGES = [f"js-{n}" for n in range(150)]


def python_spec(rng, name):
    major, minor = rng.randint(1, 4), rng.randint(0, 9)
    return rng.choice(
        [
            f"{name}>={major}.{minor}",
            f"{name}>={major},<{major + 2}",
            f"{name}~={major}.{minor}",
            f"{name}=={major}.{minor}.*",
            f"{name}!={major}.{minor}.1,>=1",
            f"{name}<{major + 3}",
            name,
        ]
    )


def npm_spec(rng):
    major, minor = rng.randint(1, 4), rng.randint(0, 9)
    return rng.choice(
        [
            f"^{major}.{minor}.0",
            f"~{major}.{minor}.2",
            f"{major}.x",
            ">=1.0.0 <6",
            "*",
            f"{major}.{minor}.0 - {major + 1}.0.0",
            f"^{major}.0.0 || ^{major + 1}.0.0",
        ]
    )


def catalogue(count, seed=7):
    rng = random.Random(seed)
    skills = []
    for n in range(count):
        skills.append(
            {
                "id": f"bench/skill-{n}",
                "python": [
                    python_spec(rng, name) for name in rng.sample(PYTHON_PACKAGES, 15)
                ],
                "npm": {name: npm_spec(rng) for name in rng.sample(NPM_PACKAGES, 5)},
            }
        )
    constraints = "\n".join(
        f"{name}>=0.1,<9  # platform pin" for name in PYTHON_PACKAGES[:200]
    )
    return skills, constraints


def measure(function, *, repeat=3):
    """Return (result, best seconds, peak traced bytes) of ``function``.

    Time and memory are taken in separate calls: tracing slows Python down
    several times over. Caches are cleared before each call.
    """
    timings = []
    for _ in range(repeat):
        clear_caches()
        started = time.perf_counter()
        result = function()
        timings.append(time.perf_counter() - started)
    clear_caches()
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, min(timings), peak


def clear_caches():
    for module in (python, npm):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    documents, constraints_text = catalogue(args.skills)
    manifests, parse_seconds, _ = measure(
        lambda: parse_manifest(documents, source="bench"), repeat=1
    )
    constraints = python.parse_constraints(constraints_text, source=conflicts.PLATFORM)
    npm_constraints = npm.parse_constraints(
        json.dumps({name: ">=0.1.0" for name in NPM_PACKAGES[:50]}),
        source=conflicts.PLATFORM,
    )

    def per_skill():
        found = 0
        for manifest in manifests:
            found += len(
                conflicts.find_conflicts(
                    [manifest],
                    python_constraints=constraints,
                    npm_constraints=npm_constraints,
                )
            )
        return found

    def shared():
        return len(
            conflicts.find_conflicts(
                manifests,
                shared=True,
                python_constraints=constraints,
                npm_constraints=npm_constraints,
            )
        )

    per_skill_found, per_skill_seconds, per_skill_peak = measure(per_skill)
    shared_found, shared_seconds, shared_peak = measure(shared)
    result = {
        "skills": args.skills,
        "requirements_per_skill": 20,
        "constraint_lines": 200,
        "parse_seconds": round(parse_seconds, 4),
        "per_skill_total_seconds": round(per_skill_seconds, 4),
        "per_skill_ms": round(per_skill_seconds / args.skills * 1000, 4),
        "per_skill_conflicts": per_skill_found,
        "per_skill_peak_mib": round(per_skill_peak / 2**20, 2),
        "shared_seconds": round(shared_seconds, 4),
        "shared_conflicts": shared_found,
        "shared_peak_mib": round(shared_peak / 2**20, 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:28} {value}")
    return result


if __name__ == "__main__":
    main()
